import Foundation
import GRDB
import Logging
import SluiceGovernance
import Synchronization
import Testing

@Suite("Limits and budgets in process")
struct LocalQuotaStoreTests {
    let contract = QuotaStoreContract(store: LocalQuotaStore())

    @Test("a limit admits a burst, counting down, then refuses with when to retry")
    func burst() async throws { try await contract.burstThenRefusal() }

    @Test("a request refused by one scope counts against none")
    func allOrNothing() async throws { try await contract.allOrNothing() }

    @Test("token estimates are corrected by real use; a request larger than the limit never passes")
    func tokens() async throws { try await contract.tokensCorrected() }

    @Test("budgets reserve the worst case, refuse what would overshoot, settle the real cost")
    func budgets() async throws { try await contract.budgetReserveAndSettle() }

    @Test("settlements before a counter's seed are neither lost nor counted twice")
    func seeding() async throws { try await contract.seedKeepsEarlySettlements() }

    @Test("200 concurrent reservations never overshoot a budget")
    func concurrent() async throws { try await contract.concurrentReservations() }

    @Test("an expired reservation no longer holds budget")
    func expiry() async throws { try await contract.expiredReservationReleased() }

    @Test("a batch of settlements does what settling each would")
    func batch() async throws { try await contract.batchSettlement() }

    @Test("a limit refills evenly: one request per interval after the burst, reset when whole again")
    func refill() async throws {
        // Given a store on a clock the test moves
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let store = LocalQuotaStore(clock: { now.withLock { $0 } })
        let limit = RateCharge(key: "k#rpm#3", unit: .requests, perMinute: 3, amount: 1)
        let plan = QuotaAdmission(
            requestID: "r",
            rates: [limit],
            budgets: [],
            tokens: 0,
            micros: 0,
            expiresAt: .distantFuture
        )
        for _ in 0..<3 { _ = try await store.admit(plan) }

        // When 20 s pass (one interval), then a request comes
        now.withLock { $0 += 20 }
        let later = try await store.admit(plan)

        // Then it is admitted with nothing left and the limit whole again in a minute
        #expect(later == .admitted(requests: LimitState(limit: 3, remaining: 0, reset: .seconds(60)), tokens: nil))
    }
}

@Suite("Governance applies limits and budgets")
struct GovernanceQuotaTests {
    static let book = try! PriceBook.decode(
        Data(
            """
            {"version": "quota-test", "prices": [
                {"model": "priced", "effective_from": "2024-01-01", "input": 1000000, "output": 2000000}
            ]}
            """.utf8
        )
    )

    struct Fixture {
        let store: GovernanceStore
        let governance: LocalGovernanceService

        init(quotas: any QuotaStore = LocalQuotaStore(), settings: QuotaSettings = QuotaSettings()) throws {
            store = try GovernanceStore(writer: DatabaseQueue())
            governance = Self.service(store, quotas: quotas, settings: settings)
        }

        static func service(
            _ store: GovernanceStore,
            quotas: any QuotaStore = LocalQuotaStore(),
            settings: QuotaSettings = QuotaSettings()
        ) -> LocalGovernanceService {
            LocalGovernanceService(
                store: store,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                keyCacheTTL: .zero,
                prices: GovernanceQuotaTests.book,
                quotas: quotas,
                settings: settings
            )
        }
    }

    static func call(
        _ key: CreatedKey,
        _ id: String,
        prompt: Int = 10,
        maxTokens: Int? = nil,
        model: String = "priced",
        on governance: LocalGovernanceService
    ) async throws -> Authorization {
        try await governance.authorize(
            AuthorizationRequest(
                credential: key.plaintext,
                operation: .chat,
                model: model,
                requestID: id,
                promptTokens: prompt,
                maxTokens: maxTokens
            )
        )
    }

    static func usage(
        _ key: CreatedKey,
        _ id: String,
        prompt: Int,
        completion: Int,
        model: String = "priced"
    ) -> UsageRecord {
        UsageRecord(
            requestID: id,
            principal: Principal(
                tenantID: key.info.tenantID,
                tenantName: key.info.tenantName,
                keyID: key.info.id,
                roles: key.info.roles,
                projectID: key.info.projectID
            ),
            model: model,
            provider: "p",
            upstreamModel: model,
            promptTokens: prompt,
            completionTokens: completion,
            isEstimated: false,
            latencyMilliseconds: 1,
            outcome: "ok"
        )
    }

    @Test("a money budget reserves prompt + max_tokens at the model's price, settles the real cost, then refuses")
    func moneyBudget() async throws {
        // Given a tenant with $0.001 a month (1,000 micro-dollars) on a model at $1 / $2 per million tokens
        let fixture = try Fixture()
        let governance = fixture.governance
        let key = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "k"))
        try await governance.setPolicy(
            Policy(budgets: [.init(period: .month, moneyLimitMicros: 1_000)]),
            for: .tenant("acme")
        )

        // When a call with 100 prompt tokens and max_tokens 200 is admitted
        let first = try await Self.call(key, "r1", prompt: 100, maxTokens: 200, on: governance)

        // Then it reserved 300 tokens and 100 + 400 = 500 micro-dollars, covering 200 completion tokens
        #expect(first.reservation == Reservation(id: "r1", tokens: 300, micros: 500, completionTokens: 200))
        // And a second such call fits (1,000), a third would not
        _ = try await Self.call(key, "r2", prompt: 100, maxTokens: 200, on: governance)
        let third = await governanceErrorCode {
            try await Self.call(key, "r3", prompt: 100, maxTokens: 200, on: governance)
        }
        #expect(third == .budgetExhausted)

        // When the first settles at 100 + 50 tokens (200 micro-dollars)
        let receipt = try await governance.recordUsage(Self.usage(key, "r1", prompt: 100, completion: 50))
        #expect(receipt.costMicros == 200)

        // Then the third fits: 200 used + 500 reserved + 500 > 1,000 still, but a smaller one (300) does
        let bigger = await governanceErrorCode {
            try await Self.call(key, "r4", prompt: 100, maxTokens: 200, on: governance)
        }
        let smaller = try await Self.call(key, "r5", prompt: 100, maxTokens: 50, on: governance)
        #expect(bigger == .budgetExhausted && smaller.reservation?.micros == 200)
        // And the policy reports what is used and held
        let status = try await governance.policy(for: .tenant("acme")).budgets
        #expect(status.map(\.used) == [BudgetUsage(tokens: 150, micros: 200)])
        #expect(status.map(\.reserved) == [BudgetUsage(tokens: 450, micros: 700)])
    }

    @Test("without max_tokens, budgets reserve the configured cap and TPM counts the configured estimate")
    func defaults() async throws {
        let fixture = try Fixture(settings: QuotaSettings(estimatedCompletionTokens: 90, completionTokenCap: 40))
        let governance = fixture.governance
        let key = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "k"))
        try await governance.setPolicy(
            Policy(tokensPerMinute: 1_000, budgets: [.init(period: .day, tokenLimit: 10_000)]),
            for: .key(key.info.id)
        )
        let authorization = try await Self.call(key, "r1", prompt: 10, on: governance)
        #expect(authorization.reservation?.tokens == 50 && authorization.reservation?.completionTokens == 40)
        #expect(authorization.tokenLimit?.limit == 1_000 && authorization.tokenLimit?.remaining == 900)
    }

    @Test("a project's policy counts every key of the project, and narrows its keys")
    func projects() async throws {
        let fixture = try Fixture()
        let governance = fixture.governance
        let first = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "a", project: "research"))
        let second = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "b", project: "research"))
        let outside = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "c"))
        #expect(first.info.projectID != nil && first.info.projectID == second.info.projectID)
        #expect(first.info.projectName == "research" && outside.info.projectID == nil)

        try await governance.setPolicy(
            Policy(allowedModels: ["priced"], requestsPerMinute: 1),
            for: .project("acme/research")
        )

        _ = try await Self.call(first, "p1", on: governance)
        let secondKey = await governanceErrorCode { try await Self.call(second, "p2", on: governance) }
        let otherModel = await governanceErrorCode { try await Self.call(first, "p3", model: "other", on: governance) }
        _ = try await Self.call(outside, "p4", on: governance)
        #expect(secondKey == .rateLimited && otherModel == .modelNotAllowed)
        let effective = try await governance.policy(for: .key(second.info.id)).effective
        #expect(effective?.requestsPerMinute == 1 && effective?.allowLists == [["priced"]])
        // And the ledger knows the project
        try await governance.recordUsage(Self.usage(first, "p1", prompt: 1, completion: 1))
        let report = try await governance.queryUsage(
            UsageQuery(start: Date().addingTimeInterval(-3_600), groupBy: [.project])
        )
        #expect(report.rows.map(\.projectID) == [first.info.projectID!])
    }

    @Test("budget counters start from the ledger: a restarted governance still refuses a spent budget")
    func seededFromLedger() async throws {
        let fixture = try Fixture()
        let key = try await fixture.governance.createKey(KeyCreationRequest(tenant: "acme", name: "k"))
        try await fixture.governance.setPolicy(
            Policy(budgets: [.init(period: .day, tokenLimit: 100)]),
            for: .tenant("acme")
        )
        _ = try await Self.call(key, "r1", prompt: 10, maxTokens: 10, on: fixture.governance)
        try await fixture.governance.recordUsage(Self.usage(key, "r1", prompt: 50, completion: 40))

        // A new process: the same database, a fresh in-process store
        let restarted = Fixture.service(fixture.store)
        let refused = await governanceErrorCode {
            try await Self.call(key, "r2", prompt: 10, maxTokens: 1, on: restarted)
        }
        let fits = try await Self.call(key, "r3", prompt: 5, maxTokens: 5, on: restarted)
        #expect(refused == .budgetExhausted && fits.reservation?.tokens == 10)
    }

    struct UnreachableStore: QuotaStore {
        func admit(_ admission: QuotaAdmission) async throws -> QuotaDecision { throw QuotaStoreError("down") }
        func seed(_ counter: BudgetCounter, with usage: BudgetUsage, through mark: Int64) async throws {
            throw QuotaStoreError("down")
        }
        func settle(_ settlement: QuotaSettlement) async throws { throw QuotaStoreError("down") }
        func status(of counters: [BudgetCounter]) async throws -> [BudgetCounterStatus?] {
            throw QuotaStoreError("down")
        }
    }

    @Test("an unreachable limit store refuses limited calls (unavailable), or lets them through when failing open")
    func unreachableStore() async throws {
        for failOpen in [false, true] {
            let fixture = try Fixture(quotas: UnreachableStore(), settings: QuotaSettings(failOpen: failOpen))
            let key = try await fixture.governance.createKey(KeyCreationRequest(tenant: "acme", name: "k"))
            let free = try await fixture.governance.createKey(KeyCreationRequest(tenant: "other", name: "k"))
            try await fixture.governance.setPolicy(Policy(requestsPerMinute: 5), for: .tenant("acme"))
            let limited = await governanceErrorCode { try await Self.call(key, "r", on: fixture.governance) }
            #expect(limited == (failOpen ? nil : .unavailable))
            // A key no policy limits never needs the store
            #expect(await governanceErrorCode { try await Self.call(free, "f", on: fixture.governance) } == nil)
            // And usage is recorded in the ledger even when its settlement cannot reach the store
            #expect(try await fixture.governance.recordUsage(Self.usage(key, "r", prompt: 1, completion: 1)).recorded)
        }
    }
}

@Suite("Budget periods")
struct BudgetPeriodTests {
    @Test(
        "a period's start, end and name agree with the Gregorian calendar in UTC, across month, year and leap days",
        arguments: [0, 951_782_400, 951_868_799, 1_709_164_800, 1_735_689_599, 1_796_678_461, 4_107_542_400]
    )
    func periods(seconds: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let moment = Date(timeIntervalSince1970: TimeInterval(seconds) + 0.5)
        for (period, component) in [(Policy.Period.day, Calendar.Component.day), (.month, .month)] {
            let counter = BudgetCounter(scope: .tenant("t"), period: period, containing: moment)
            let interval = calendar.dateInterval(of: component, for: moment)!
            #expect(counter.start == interval.start && counter.end == interval.end)
            let parts = calendar.dateComponents([.year, .month, .day], from: moment)
            let stamp =
                period == .day
                ? String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
                : String(format: "%04d-%02d", parts.year!, parts.month!)
            #expect(counter.key == "tenant:t#\(period.rawValue)#\(stamp)")
        }
    }
}
