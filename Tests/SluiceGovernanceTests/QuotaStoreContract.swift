import Foundation
import SluiceGovernance
import Testing

/// The rules every ``QuotaStore`` follows, as checks any store can be put through: the in-process store here, the
/// Redis store against a real `redis-server`.
///
/// Each check uses counters of its own (a fresh `prefix`), so they may share one store. Times come from the store's
/// own clock, which keeps running while a check does; where a figure depends on time, the check allows for the time
/// it took (on a loaded machine, starting a process or a round trip can take seconds).
struct QuotaStoreContract {
    let store: any QuotaStore
    let prefix = "t\(UInt32.random(in: 0...UInt32.max))"

    private func rate(_ scope: String, _ unit: RateCharge.Unit, _ perMinute: Int64, _ amount: Int64 = 1) -> RateCharge {
        RateCharge(key: "\(prefix):\(scope)#\(unit)#\(perMinute)", unit: unit, perMinute: perMinute, amount: amount)
    }

    private func admission(
        _ id: String,
        rates: [RateCharge] = [],
        budgets: [BudgetCharge] = [],
        tokens: Int64 = 0,
        micros: Int64 = 0,
        expiresIn: TimeInterval = 600
    ) -> QuotaAdmission {
        QuotaAdmission(
            requestID: "\(prefix)-\(id)",
            rates: rates,
            budgets: budgets,
            tokens: tokens,
            micros: micros,
            expiresAt: Date().addingTimeInterval(expiresIn)
        )
    }

    private func counter(_ name: String) -> BudgetCounter {
        BudgetCounter(scope: .tenant("\(prefix)-\(name)"), period: .day, containing: Date())
    }

    /// A limit of 3 a minute admits a burst of 3, counting down, then refuses for a third of a minute.
    func burstThenRefusal() async throws {
        let limit = rate("tenant", .requests, 3)
        let started = ContinuousClock.now
        var remaining: [Int64] = []
        for index in 0..<3 {
            guard case .admitted(let state, nil) = try await store.admit(admission("r\(index)", rates: [limit])) else {
                Issue.record("request \(index) of the burst was refused")
                return
            }
            remaining.append(state?.remaining ?? -1)
        }
        #expect(remaining == [2, 1, 0])
        guard
            case .rateLimited(.requests, let state, let retryAfter?) = try await store.admit(
                admission("r3", rates: [limit])
            )
        else {
            Issue.record("the fourth request was not refused with a retry time")
            return
        }
        #expect(state.limit == 3 && state.remaining == 0)
        #expect(retryAfter > .seconds(20) - (ContinuousClock.now - started) && retryAfter <= .seconds(20))
    }

    /// A request refused by one scope counts against none.
    func allOrNothing() async throws {
        let tenant = rate("tenant", .requests, 10)
        let key = rate("key", .requests, 1)
        let started = ContinuousClock.now
        _ = try await store.admit(admission("a", rates: [tenant, key]))
        let second = try await store.admit(admission("b", rates: [tenant, key]))
        let other = try await store.admit(admission("c", rates: [tenant]))
        guard case .rateLimited(.requests, _, _) = second else {
            Issue.record("the key's second request was admitted")
            return
        }
        guard case .admitted(let state, _) = other else {
            Issue.record("another key of the tenant was refused")
            return
        }
        // (one more for every 6 s the check took: 10 a minute)
        let refilled = Int64((ContinuousClock.now - started) / .seconds(6))
        #expect((8...8 + refilled).contains(state?.remaining ?? 0))
    }

    /// Tokens per minute: estimates count when admitted and are corrected by the real use; a request larger than the
    /// limit can never pass.
    func tokensCorrected() async throws {
        let limit = { (amount: Int64) in rate("tokens", .tokens, 1_000, amount) }
        let started = ContinuousClock.now
        guard case .admitted(_, let state) = try await store.admit(admission("a", rates: [limit(600)])) else {
            Issue.record("the first estimate was refused")
            return
        }
        #expect(state?.limit == 1_000 && state?.remaining == 400)
        guard case .rateLimited(.tokens, _, let retry?) = try await store.admit(admission("b", rates: [limit(600)]))
        else {
            Issue.record("a second estimate of 600 was admitted")
            return
        }
        #expect(retry > .seconds(12) - (ContinuousClock.now - started) && retry <= .seconds(12))
        guard case .rateLimited(.tokens, _, nil) = try await store.admit(admission("c", rates: [limit(1_001)])) else {
            Issue.record("a request larger than the limit was not refused for good")
            return
        }
        // The first used 100 tokens, not 600: the 500 come back
        try await store.settle(
            QuotaSettlement(
                requestID: "\(prefix)-a",
                ledgerID: 1,
                usage: BudgetUsage(tokens: 100, micros: 0),
                counters: []
            )
        )
        guard case .admitted(_, let after) = try await store.admit(admission("d", rates: [limit(600)])) else {
            Issue.record("the refund did not make room")
            return
        }
        // (plus what refilled meanwhile: 1,000 a minute is 17 a second)
        let refilled = Int64(((ContinuousClock.now - started) / .seconds(1)) * 1_000 / 60) + 1
        #expect((299...300 + refilled).contains(after?.remaining ?? 0))
    }

    /// Budgets: counters are seeded first; a reservation that would take use past a limit is refused; settling
    /// charges the real use and releases the rest.
    func budgetReserveAndSettle() async throws {
        let day = counter("budget")
        let charge = BudgetCharge(counter: day, tokenLimit: 300, moneyLimitMicros: 10_000)
        guard case .needsSeed([day]) = try await store.admit(admission("a", budgets: [charge], tokens: 150, micros: 1))
        else {
            Issue.record("an unseeded counter was used")
            return
        }
        try await store.seed(day, with: BudgetUsage(tokens: 100, micros: 5_000), through: 10)
        guard case .admitted = try await store.admit(admission("a", budgets: [charge], tokens: 150, micros: 1_000))
        else {
            Issue.record("a reservation within the budget was refused")
            return
        }
        // 100 used + 150 reserved + 100 > 300 tokens
        #expect(try await store.admit(admission("b", budgets: [charge], tokens: 100)) == .budgetExhausted(day))
        // 5,000 used + 1,000 reserved + 4,001 > 10,000 micro-dollars
        #expect(
            try await store.admit(admission("c", budgets: [charge], tokens: 1, micros: 4_001)) == .budgetExhausted(day)
        )
        #expect(
            try await store.status(of: [day])
                == [
                    BudgetCounterStatus(
                        used: .init(tokens: 100, micros: 5_000),
                        reserved: .init(tokens: 150, micros: 1_000)
                    )
                ]
        )
        try await store.settle(
            QuotaSettlement(
                requestID: "\(prefix)-a",
                ledgerID: 11,
                usage: .init(tokens: 50, micros: 400),
                counters: [day]
            )
        )
        #expect(
            try await store.status(of: [day])
                == [BudgetCounterStatus(used: .init(tokens: 150, micros: 5_400), reserved: .init(tokens: 0, micros: 0))]
        )
        guard case .admitted = try await store.admit(admission("d", budgets: [charge], tokens: 150)) else {
            Issue.record("the released reservation did not make room")
            return
        }
        // Settling again (a repeated record) releases nothing twice.
        try await store.settle(
            QuotaSettlement(requestID: "\(prefix)-a", ledgerID: 11, usage: .init(tokens: 50, micros: 400), counters: [])
        )
        #expect(try await store.status(of: [day]).first??.reserved == BudgetUsage(tokens: 150, micros: 0))
    }

    /// Settlements that reach a counter before its seed are kept by ledger row: the seed adds those it did not sum.
    func seedKeepsEarlySettlements() async throws {
        let day = counter("early")
        for (ledgerID, tokens) in [(5 as Int64, 7 as Int64), (12, 11)] {
            try await store.settle(
                QuotaSettlement(
                    requestID: "\(prefix)-e\(ledgerID)",
                    ledgerID: ledgerID,
                    usage: .init(tokens: tokens, micros: tokens),
                    counters: [day]
                )
            )
        }
        #expect(try await store.status(of: [day]) == [nil])
        // The ledger's sum through row 10 holds row 5 already; row 12 came after it.
        try await store.seed(day, with: BudgetUsage(tokens: 1_000, micros: 1_000), through: 10)
        try await store.seed(day, with: BudgetUsage(tokens: 5, micros: 5), through: 99)
        try await store.settle(
            QuotaSettlement(requestID: "\(prefix)-e9", ledgerID: 9, usage: .init(tokens: 3, micros: 3), counters: [day])
        )
        try await store.settle(
            QuotaSettlement(
                requestID: "\(prefix)-e13",
                ledgerID: 13,
                usage: .init(tokens: 2, micros: 2),
                counters: [day]
            )
        )
        #expect(try await store.status(of: [day]).first??.used == BudgetUsage(tokens: 1_013, micros: 1_013))
    }

    /// Concurrent reservations never overshoot: of 200 asking 10 tokens of a 1,000-token budget, exactly 100 pass.
    func concurrentReservations() async throws {
        let day = counter("concurrent")
        try await store.seed(day, with: BudgetUsage(tokens: 0, micros: 0), through: 0)
        let charge = BudgetCharge(counter: day, tokenLimit: 1_000, moneyLimitMicros: nil)
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    if case .admitted = try await store.admit(admission("c\(index)", budgets: [charge], tokens: 10)) {
                        return true
                    }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 100)
        #expect(try await store.status(of: [day]).first??.reserved.tokens == 1_000)
    }

    /// A batch of settlements does what settling each would.
    func batchSettlement() async throws {
        let day = counter("batch")
        try await store.seed(day, with: BudgetUsage(tokens: 0, micros: 0), through: 0)
        let charge = BudgetCharge(counter: day, tokenLimit: 1_000, moneyLimitMicros: nil)
        for index in 0..<3 {
            _ = try await store.admit(admission("b\(index)", budgets: [charge], tokens: 100, micros: 10))
        }
        let failures = await store.settle(
            batch: (0..<3).map { index in
                QuotaSettlement(
                    requestID: "\(prefix)-b\(index)",
                    ledgerID: Int64(index + 1),
                    usage: .init(tokens: 20, micros: 2),
                    counters: [day]
                )
            }
        )
        #expect(failures.isEmpty)
        #expect(
            try await store.status(of: [day])
                == [BudgetCounterStatus(used: .init(tokens: 60, micros: 6), reserved: .init(tokens: 0, micros: 0))]
        )
    }

    /// A reservation past its expiry no longer holds budget.
    func expiredReservationReleased() async throws {
        let day = counter("expiry")
        try await store.seed(day, with: BudgetUsage(tokens: 0, micros: 0), through: 0)
        let charge = BudgetCharge(counter: day, tokenLimit: 100, moneyLimitMicros: nil)
        guard case .admitted = try await store.admit(admission("old", budgets: [charge], tokens: 100, expiresIn: -1))
        else {
            Issue.record("the first reservation was refused")
            return
        }
        guard case .admitted = try await store.admit(admission("new", budgets: [charge], tokens: 100)) else {
            Issue.record("an expired reservation still held the budget")
            return
        }
        #expect(try await store.status(of: [day]).first??.reserved.tokens == 100)
    }
}
