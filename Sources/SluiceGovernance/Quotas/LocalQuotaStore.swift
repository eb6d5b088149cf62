package import Foundation
import Synchronization

/// Rate limits and budget reservations in this process: exact for one governance process, lost when it restarts
/// (budget counters are then seeded again from the ledger; rate limits start afresh).
///
/// Every decision runs under one lock, so concurrent requests never overshoot a limit or a budget. The rules are
/// those of ``QuotaAdmission``.
package final class LocalQuotaStore: QuotaStore {
    private let clock: @Sendable () -> Date
    private let state = Mutex(State())

    fileprivate struct State {
        /// Each rate counter's theoretical arrival time, in microseconds since 1970.
        var arrivals: [String: Int64] = [:]
        var budgets: [String: Budget] = [:]
        var reservations: [String: Reservation] = [:]
        var decisionsSinceSweep = 0
        /// No reservation expires before this; `Int64.max` when none is open.
        var earliestExpiry = Int64.max
    }

    fileprivate struct Budget {
        var end: Int64
        var seeded = false
        var mark: Int64 = 0
        var used = BudgetUsage(tokens: 0, micros: 0)
        var reserved = BudgetUsage(tokens: 0, micros: 0)
        /// Settlements before the seed, by ledger row id.
        var early: [Int64: BudgetUsage] = [:]
    }

    fileprivate struct Reservation {
        var counters: [String]
        var amount: BudgetUsage
        var expiresAt: Int64
        /// Token rate counters and their limits, to correct by the real use.
        var tokenRates: [(key: String, perMinute: Int64)]
        var estimatedTokens: Int64
    }

    /// Creates an empty store.
    ///
    /// - Parameter clock: The time; tests pass their own.
    package init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    package func admit(_ admission: QuotaAdmission) async throws -> QuotaDecision {
        let now = clock().quotaMicroseconds
        return state.withLock { state in
            state.sweep(now: now)
            let unseeded = admission.budgets.map(\.counter).filter { state.budgets[$0.key]?.seeded != true }
            guard unseeded.isEmpty else { return .needsSeed(unseeded) }

            var arrivals: [(String, Int64)] = []
            var tightest: [RateCharge.Unit: LimitState] = [:]
            for charge in admission.rates {
                let outcome = Self.gcra(charge, arrival: state.arrivals[charge.key], now: now)
                switch outcome {
                case .refused(let limitState, let retryAfter):
                    return .rateLimited(charge.unit, limitState, retryAfter: retryAfter)
                case .admitted(let arrival, let limitState):
                    arrivals.append((charge.key, arrival))
                    if tightest[charge.unit].map({ limitState.remaining < $0.remaining }) ?? true {
                        tightest[charge.unit] = limitState
                    }
                }
            }
            let amount = BudgetUsage(tokens: admission.tokens, micros: admission.micros)
            for charge in admission.budgets {
                let budget = state.budgets[charge.counter.key]!
                if !Self.fits(amount, in: budget, charge: charge) { return .budgetExhausted(charge.counter) }
            }

            for (key, arrival) in arrivals { state.arrivals[key] = arrival }
            for charge in admission.budgets {
                state.budgets[charge.counter.key]!.reserved.add(amount)
            }
            if admission.needsSettlement {
                let tokenRates = admission.rates.filter { $0.unit == .tokens }
                let expiresAt = admission.expiresAt.quotaMicroseconds
                state.earliestExpiry = min(state.earliestExpiry, expiresAt)
                state.reservations[admission.requestID] = Reservation(
                    counters: admission.budgets.map(\.counter.key),
                    amount: amount,
                    expiresAt: expiresAt,
                    tokenRates: tokenRates.map { ($0.key, $0.perMinute) },
                    estimatedTokens: tokenRates.first?.amount ?? 0
                )
            }
            return .admitted(requests: tightest[.requests], tokens: tightest[.tokens])
        }
    }

    package func seed(_ counter: BudgetCounter, with usage: BudgetUsage, through mark: Int64) async throws {
        state.withLock { state in
            var budget = state.budgets[counter.key] ?? Budget(end: counter.end.quotaMicroseconds)
            guard !budget.seeded else { return }
            budget.used = usage
            for (id, early) in budget.early where id > mark { budget.used.add(early) }
            budget.early = [:]
            budget.mark = mark
            budget.seeded = true
            state.budgets[counter.key] = budget
        }
    }

    package func settle(_ settlement: QuotaSettlement) async throws {
        let now = clock().quotaMicroseconds
        state.withLock { state in
            if let reservation = state.reservations.removeValue(forKey: settlement.requestID) {
                state.release(reservation)
                let correction = settlement.usage.tokens - reservation.estimatedTokens
                for (key, perMinute) in reservation.tokenRates {
                    guard let arrival = state.arrivals[key] else { continue }
                    state.arrivals[key] = max(arrival + Self.cost(correction, perMinute: perMinute), now)
                }
            }
            for counter in settlement.counters {
                var budget = state.budgets[counter.key] ?? Budget(end: counter.end.quotaMicroseconds)
                if !budget.seeded {
                    budget.early[settlement.ledgerID] = settlement.usage
                } else if settlement.ledgerID > budget.mark {
                    budget.used.add(settlement.usage)
                }
                state.budgets[counter.key] = budget
            }
        }
    }

    package func status(of counters: [BudgetCounter]) async throws -> [BudgetCounterStatus?] {
        let now = clock().quotaMicroseconds
        return state.withLock { state in
            state.sweep(now: now, force: true)
            return counters.map { counter in
                state.budgets[counter.key].flatMap {
                    $0.seeded ? BudgetCounterStatus(used: $0.used, reserved: $0.reserved) : nil
                }
            }
        }
    }

    // MARK: - Arithmetic

    private enum RateOutcome {
        case admitted(arrival: Int64, LimitState)
        case refused(LimitState, retryAfter: Duration?)
    }

    /// One minute, in microseconds: the window every limit refills over.
    static let window: Int64 = 60_000_000

    /// The time `amount` units take to refill at `perMinute`, in microseconds (negative for a refund).
    static func cost(_ amount: Int64, perMinute: Int64) -> Int64 {
        amount.multipliedReportingOverflow(by: window).overflow
            ? (amount > 0 ? Int64.max / 4 : -(Int64.max / 4)) : amount * window / max(perMinute, 1)
    }

    /// The generic cell rate algorithm: a limit admits an amount when its theoretical arrival time, advanced by the
    /// amount's cost, is at most one window ahead of now.
    private static func gcra(_ charge: RateCharge, arrival: Int64?, now: Int64) -> RateOutcome {
        let start = max(arrival ?? now, now)
        let advanced = start + cost(charge.amount, perMinute: charge.perMinute)
        let ahead = advanced - now
        if ahead > window {
            let state = LimitState(
                limit: charge.perMinute,
                remaining: remaining(ahead: start - now, perMinute: charge.perMinute),
                reset: .microseconds(start - now)
            )
            let possible = charge.amount <= charge.perMinute
            return .refused(state, retryAfter: possible ? .microseconds(ahead - window) : nil)
        }
        let state = LimitState(
            limit: charge.perMinute,
            remaining: remaining(ahead: ahead, perMinute: charge.perMinute),
            reset: .microseconds(ahead)
        )
        return .admitted(arrival: advanced, state)
    }

    /// What a limit could still take when its arrival time is `ahead` microseconds past now.
    private static func remaining(ahead: Int64, perMinute: Int64) -> Int64 {
        max(0, (window - ahead) * perMinute / window)
    }

    private static func fits(_ amount: BudgetUsage, in budget: Budget, charge: BudgetCharge) -> Bool {
        if let limit = charge.tokenLimit, budget.used.tokens + budget.reserved.tokens + amount.tokens > limit {
            return false
        }
        if let limit = charge.moneyLimitMicros, budget.used.micros + budget.reserved.micros + amount.micros > limit {
            return false
        }
        return true
    }
}

extension LocalQuotaStore.State {
    /// Releases reservations past their expiry, at once; forgets counters of past periods and idle rate counters
    /// every 1,000 decisions, or when forced.
    fileprivate mutating func sweep(now: Int64, force: Bool = false) {
        if now >= earliestExpiry {
            earliestExpiry = .max
            for (id, reservation) in reservations {
                if reservation.expiresAt <= now {
                    reservations[id] = nil
                    release(reservation)
                } else {
                    earliestExpiry = min(earliestExpiry, reservation.expiresAt)
                }
            }
        }
        decisionsSinceSweep += 1
        guard force || decisionsSinceSweep >= 1_000 else { return }
        decisionsSinceSweep = 0
        budgets = budgets.filter { $0.value.end + 86_400_000_000 > now }
        arrivals = arrivals.filter { $0.value > now }
    }

    fileprivate mutating func release(_ reservation: LocalQuotaStore.Reservation) {
        for key in reservation.counters {
            budgets[key]?.reserved.subtract(reservation.amount)
        }
    }
}

extension BudgetUsage {
    mutating func add(_ other: BudgetUsage) {
        tokens += other.tokens
        micros += other.micros
    }

    mutating func subtract(_ other: BudgetUsage) {
        tokens = max(0, tokens - other.tokens)
        micros = max(0, micros - other.micros)
    }
}
