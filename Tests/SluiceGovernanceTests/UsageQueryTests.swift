import Foundation
import GRDB
import Logging
import SluiceGovernance
import Testing

@Suite("Usage queries over the ledger")
struct UsageQueryTests {
    private let governance: LocalGovernanceService
    private let store: GovernanceStore

    init() throws {
        store = try GovernanceStore(writer: DatabaseQueue())
        let book = try PriceBook.decode(
            Data(
                #"{"version": "q", "prices": [{"model": "up-a", "effective_from": "2024-01-01", "input": 1000000, "output": 2000000}]}"#
                    .utf8
            )
        )
        governance = LocalGovernanceService(store: store, logger: Logger(label: "test"), prices: book)
    }

    private func record(
        _ id: String,
        tenant: (id: String, name: String) = ("ten_a", "acme"),
        key: String = "k1",
        model: String = "a",
        upstream: String = "up-a",
        tokens: (Int, Int) = (10, 5),
        outcome: String = "ok",
        estimated: Bool = false
    ) -> UsageRecord {
        UsageRecord(
            requestID: id,
            principal: Principal(tenantID: tenant.id, tenantName: tenant.name, keyID: key, roles: [.member]),
            model: model,
            provider: "p",
            upstreamModel: upstream,
            promptTokens: tokens.0,
            completionTokens: tokens.1,
            isEstimated: estimated,
            latencyMilliseconds: 1,
            outcome: outcome
        )
    }

    /// Records the calls, then moves each one's recording time to the given day.
    private func seed(_ calls: [(UsageRecord, String)]) async throws {
        _ = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        try await governance.recordUsage(batch: calls.map(\.0))
        try await store.writer.write { db in
            for (record, day) in calls {
                try db.execute(
                    sql:
                        "UPDATE usage_ledger SET recorded_at = ?, tenant_id = (SELECT id FROM tenant) WHERE request_id = ?",
                    arguments: ["\(day) 12:00:00.000", record.requestID]
                )
            }
        }
    }

    private static func day(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)!
    }

    @Test("groups by model and day, in order, with errors, tokens, costs and estimated calls", .timeLimit(.minutes(1)))
    func groups() async throws {
        // Given calls of two models over two days, one failed, one estimated, one outside the range
        try await seed([
            (record("r1"), "2026-12-01"), (record("r2", outcome: "upstream_error", estimated: true), "2026-12-01"),
            (record("r3", model: "b", upstream: "up-b"), "2026-12-01"), (record("r4"), "2026-12-02"),
            (record("r5"), "2026-11-30"),
        ])

        // When the ledger is grouped by model and day over December
        let report = try await governance.queryUsage(
            UsageQuery(start: Self.day("2026-12-01"), end: Self.day("2027-01-01"), groupBy: [.model, .day])
        )

        // Then there is a row per model and day, sorted, and totals over the range
        #expect(report.rows.map(\.model) == ["a", "a", "b"])
        #expect(
            report.rows.map(\.bucketStart) == [Self.day("2026-12-01"), Self.day("2026-12-02"), Self.day("2026-12-01")]
        )
        #expect(report.rows.map(\.requests) == [2, 1, 1])
        #expect(report.rows.map(\.errors) == [1, 0, 0])
        #expect(report.rows.map(\.estimatedRequests) == [1, 0, 0])
        #expect(report.rows.map(\.costMicros) == [40, 20, 0])  // up-a: 10 × 1 + 5 × 2 µ$ per call; up-b has no price
        #expect(report.totals.requests == 4 && report.totals.promptTokens == 40 && report.totals.completionTokens == 20)
        #expect(report.totals.costMicros == 60)
    }

    @Test("filters by tenant (name or id), key and model; totals alone without grouping", .timeLimit(.minutes(1)))
    func filters() async throws {
        // Given calls of two keys and two models
        try await seed([
            (record("r1", key: "k1"), "2026-12-01"), (record("r2", key: "k2"), "2026-12-01"),
            (record("r3", key: "k2", model: "b"), "2026-12-01"),
        ])
        let december = Self.day("2026-12-01")

        // Then each filter narrows the totals, and the tenant is found by name
        let byKey = try await governance.queryUsage(UsageQuery(tenant: "acme", keyID: "k2", start: december))
        #expect(byKey.rows.count == 1 && byKey.totals.requests == 2)
        let byModel = try await governance.queryUsage(UsageQuery(model: "b", start: december))
        #expect(byModel.totals.requests == 1)
        let empty = try await governance.queryUsage(UsageQuery(start: Self.day("2030-01-01")))
        #expect(empty.rows.count == 1 && empty.totals.requests == 0)
    }

    @Test("refuses an unknown tenant and a malformed query", .timeLimit(.minutes(1)))
    func refuses() async throws {
        let start = Self.day("2026-12-01")
        let unknown = await governanceErrorCode {
            try await governance.queryUsage(UsageQuery(tenant: "nobody", start: start))
        }
        let backwards = await governanceErrorCode {
            try await governance.queryUsage(UsageQuery(start: start, end: Self.day("2026-11-01")))
        }
        let both = await governanceErrorCode {
            try await governance.queryUsage(UsageQuery(start: start, groupBy: [.hour, .day]))
        }
        let twice = await governanceErrorCode {
            try await governance.queryUsage(UsageQuery(start: start, groupBy: [.model, .model]))
        }
        #expect(unknown == .notFound)
        #expect([backwards, both, twice] == [.invalidArgument, .invalidArgument, .invalidArgument])
    }
}
