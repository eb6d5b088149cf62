import Foundation
import GRDB
import Logging
import SluiceGovernance
import SluiceGovernanceRedis
import SluiceRedis
import SluiceTesting
import Testing

/// The ``QuotaStoreContract`` against Debian's `redis-server`, started on a loopback port for each test.
@Suite("Limits and budgets in Redis")
struct RedisQuotaStoreTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a store on a fresh Redis; stops both afterwards.
    func withStore(_ body: (QuotaStoreContract, RedisServerProcess, RedisClient) async throws -> Void) async throws {
        let server = try await RedisServerProcess()
        defer { server.stop() }
        let client = try RedisClient(
            configuration: server.configuration { $0.commandTimeout = .seconds(2) },
            logger: Self.logger
        )
        do {
            try await body(
                QuotaStoreContract(store: RedisQuotaStore(client: client, logger: Self.logger)),
                server,
                client
            )
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
    }

    @Test("a limit admits a burst, counting down, then refuses with when to retry")
    func burst() async throws { try await withStore { contract, _, _ in try await contract.burstThenRefusal() } }

    @Test("a request refused by one scope counts against none")
    func allOrNothing() async throws { try await withStore { contract, _, _ in try await contract.allOrNothing() } }

    @Test("token estimates are corrected by real use; a request larger than the limit never passes")
    func tokens() async throws { try await withStore { contract, _, _ in try await contract.tokensCorrected() } }

    @Test("budgets reserve the worst case, refuse what would overshoot, settle the real cost")
    func budgets() async throws {
        try await withStore { contract, _, _ in try await contract.budgetReserveAndSettle() }
    }

    @Test("settlements before a counter's seed are neither lost nor counted twice")
    func seeding() async throws {
        try await withStore { contract, _, _ in try await contract.seedKeepsEarlySettlements() }
    }

    @Test("200 concurrent reservations never overshoot a budget")
    func concurrent() async throws {
        try await withStore { contract, _, _ in try await contract.concurrentReservations() }
    }

    @Test("an expired reservation no longer holds budget")
    func expiry() async throws {
        try await withStore { contract, _, _ in try await contract.expiredReservationReleased() }
    }

    @Test("a batch of settlements goes out in one pipeline, also when Redis lost its scripts")
    func batch() async throws {
        try await withStore { contract, _, client in
            try await contract.batchSettlement()
            _ = try await client.send(["SCRIPT", "FLUSH"])
            // (counters of their own: a new contract has a new prefix)
            try await QuotaStoreContract(store: contract.store).batchSettlement()
        }
    }

    @Test("two stores on one Redis share their counts, as replicas do")
    func sharedAcrossStores() async throws {
        try await withStore { contract, server, client in
            let other = try RedisClient(configuration: server.configuration(), logger: Self.logger)
            let second = RedisQuotaStore(client: other, logger: Self.logger)
            let limit = RateCharge(key: "shared#rpm#2", unit: .requests, perMinute: 2, amount: 1)
            func plan(_ id: String) -> QuotaAdmission {
                QuotaAdmission(
                    requestID: id,
                    rates: [limit],
                    budgets: [],
                    tokens: 0,
                    micros: 0,
                    expiresAt: .distantFuture
                )
            }
            _ = try await contract.store.admit(plan("a"))
            _ = try await second.admit(plan("b"))
            let third = try await contract.store.admit(plan("c"))
            await other.shutdown()
            guard case .rateLimited(.requests, _, _) = third else {
                Issue.record("the third request over two stores was admitted: \(third)")
                return
            }
        }
    }

    @Test("Redis down: every call throws QuotaStoreError; a settlement made meanwhile is delivered once it is back")
    func outage() async throws {
        try await withStore { contract, server, _ in
            let store = contract.store
            let counter = BudgetCounter(scope: .tenant("outage"), period: .day, containing: Date())
            try await store.seed(counter, with: BudgetUsage(tokens: 0, micros: 0), through: 0)
            let charge = BudgetCharge(counter: counter, tokenLimit: 1_000, moneyLimitMicros: nil)
            let plan = QuotaAdmission(
                requestID: "o1",
                rates: [],
                budgets: [charge],
                tokens: 100,
                micros: 0,
                expiresAt: Date().addingTimeInterval(600)
            )
            _ = try await store.admit(plan)

            server.kill()
            await #expect(throws: QuotaStoreError.self) { try await store.admit(plan) }
            let settlement = QuotaSettlement(
                requestID: "o1",
                ledgerID: 1,
                usage: BudgetUsage(tokens: 40, micros: 0),
                counters: [counter]
            )
            await #expect(throws: QuotaStoreError.self) { try await store.settle(settlement) }

            // Redis comes back with what it had lost: the counter must be seeded again, and the kept settlement
            // goes out after the next decision.
            try await server.restart()
            let deadline = ContinuousClock.now + .seconds(10)
            var decision: QuotaDecision?
            while decision == nil, ContinuousClock.now < deadline {
                decision = try? await store.admit(plan)
                if decision == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(decision == .needsSeed([counter]))
            try await store.seed(counter, with: BudgetUsage(tokens: 0, micros: 0), through: 0)
            var used: Int64 = 0
            while used != 40, ContinuousClock.now < deadline {
                _ = try await store.admit(
                    QuotaAdmission(
                        requestID: "probe",
                        rates: [],
                        budgets: [],
                        tokens: 0,
                        micros: 0,
                        expiresAt: .distantFuture
                    )
                )
                used = try await store.status(of: [counter]).first??.used.tokens ?? 0
                if used != 40 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(used == 40)
        }
    }
}
