package import Foundation

/// Where rate limits and budget reservations are counted: in this process (``LocalQuotaStore``) or shared by
/// replicas (`RedisQuotaStore`, when `redis.url` is configured).
///
/// Governance plans each request (``QuotaAdmission``: which limits it counts against and what it reserves); the store
/// decides and counts atomically, all or nothing. Both stores follow the same rules, described on ``QuotaAdmission``,
/// ``QuotaSettlement`` and ``seed(_:with:through:)``, and pass the same tests.
///
/// Budget counters start from the ledger. A counter the store has not seen (a new period, a restarted process, a
/// flushed Redis) is *unseeded*: ``admit(_:)`` answers ``QuotaDecision/needsSeed(_:)``, governance sums the ledger
/// for it and calls ``seed(_:with:through:)``. Settlements that arrive before the seed are kept by ledger row id, so
/// the seed neither misses nor double-counts a call.
package protocol QuotaStore: Sendable {
    /// Counts a request against its rate limits and reserves its worst case against its budgets, or refuses it
    /// without counting anything.
    ///
    /// - Parameter admission: The request's plan.
    /// - Returns: The decision.
    /// - Throws: ``QuotaStoreError`` when the store cannot be reached.
    func admit(_ admission: QuotaAdmission) async throws -> QuotaDecision

    /// Sets an unseeded budget counter from the ledger; does nothing to a seeded one.
    ///
    /// The counter's use becomes `usage`, plus every settlement recorded before the seed whose ledger row id is
    /// above `mark`.
    ///
    /// - Parameters:
    ///   - counter: The counter.
    ///   - usage: What the ledger holds for the counter's scope and period.
    ///   - mark: The highest ledger row id the sum saw.
    func seed(_ counter: BudgetCounter, with usage: BudgetUsage, through mark: Int64) async throws

    /// Releases a request's reservation, corrects its token rate limits by what it really used, and adds that use
    /// to its budget counters. Settling an unknown or already settled reservation only adds the use.
    ///
    /// - Parameter settlement: What the request used.
    func settle(_ settlement: QuotaSettlement) async throws

    /// Settles several requests, as ``settle(_:)`` would each; a shared store sends them together.
    ///
    /// - Parameter settlements: What the requests used.
    /// - Returns: The failures, if any: the settlements not delivered are the store's to keep or drop.
    func settle(batch settlements: [QuotaSettlement]) async -> [any Error]

    /// The current state of budget counters, for reports.
    ///
    /// - Parameter counters: The counters.
    /// - Returns: Their use and reservations, `nil` for counters the store has not seeded.
    func status(of counters: [BudgetCounter]) async throws -> [BudgetCounterStatus?]
}

extension QuotaStore {
    /// Settles each in turn.
    package func settle(batch settlements: [QuotaSettlement]) async -> [any Error] {
        var failures: [any Error] = []
        for settlement in settlements {
            do {
                try await settle(settlement)
            } catch {
                failures.append(error)
            }
        }
        return failures
    }
}

/// The store could not be reached or did not answer in time.
package struct QuotaStoreError: Error, Sendable, CustomStringConvertible {
    /// What happened, without secrets.
    package var message: String

    /// Creates an error.
    package init(_ message: String) { self.message = message }

    /// The message.
    package var description: String { message }
}

/// A rate limit one request counts against.
package struct RateCharge: Sendable, Hashable {
    /// What the limit counts.
    package enum Unit: String, Sendable, Hashable {
        /// Requests.
        case requests
        /// Tokens, prompt and completion.
        case tokens
    }

    /// The counter's name: the scope, the unit and the limit (`tenant:ten_1#rpm#600`), so that a changed limit
    /// starts afresh.
    package var key: String
    /// What it counts.
    package var unit: Unit
    /// The limit, per minute.
    package var perMinute: Int64
    /// What this request counts: 1 request, or its estimated tokens.
    package var amount: Int64

    /// Creates a charge.
    package init(key: String, unit: Unit, perMinute: Int64, amount: Int64) {
        self.key = key
        self.unit = unit
        self.perMinute = perMinute
        self.amount = amount
    }
}

/// One budget's counter: a scope in one UTC period.
package struct BudgetCounter: Sendable, Hashable {
    /// The counter's name: `tenant:ten_1#day#2026-12-07`, `key:k_1#month#2026-12`.
    package var key: String
    /// The scope it counts.
    package var scope: Policy.Scope
    /// The period.
    package var period: Policy.Period
    /// The start of the period.
    package var start: Date
    /// The end of the period (exclusive).
    package var end: Date

    /// The counter of a scope's period containing a moment.
    ///
    /// Periods are computed arithmetically on the proleptic Gregorian calendar in UTC, not with `Calendar`: this runs
    /// for every budget of every request.
    ///
    /// - Parameters:
    ///   - scope: The scope, by id.
    ///   - period: The period.
    ///   - moment: A moment in the period.
    package init(scope: Policy.Scope, period: Policy.Period, containing moment: Date) {
        let day: Int64 = 86_400
        let seconds = Int64(moment.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / day : (seconds - day + 1) / day
        let (year, month, dayOfMonth) = Self.civil(days: days)
        let startDay: Int64
        let endDay: Int64
        var stamp = Self.digits(year, 4) + "-" + Self.digits(month, 2)
        switch period {
        case .day:
            startDay = days
            endDay = days + 1
            stamp += "-" + Self.digits(dayOfMonth, 2)
        case .month:
            startDay = Self.days(year: year, month: month, day: 1)
            endDay =
                month == 12
                ? Self.days(year: year + 1, month: 1, day: 1) : Self.days(year: year, month: month + 1, day: 1)
        }
        self.key = "\(scope)#\(period.rawValue)#\(stamp)"
        self.scope = scope
        self.period = period
        self.start = Date(timeIntervalSince1970: TimeInterval(startDay * day))
        self.end = Date(timeIntervalSince1970: TimeInterval(endDay * day))
    }

    /// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a date (Howard Hinnant's `days_from_civil`).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

extension Date {
    /// Microseconds since 1970, the unit every quota store counts time in (as Redis's `TIME` gives it).
    package var quotaMicroseconds: Int64 {
        Int64((timeIntervalSince1970 * 1_000_000).rounded())
    }
}

/// A budget check: a counter and the limits of the policy that set it.
package struct BudgetCharge: Sendable, Hashable {
    /// The counter.
    package var counter: BudgetCounter
    /// Tokens per period, if limited.
    package var tokenLimit: Int64?
    /// Micro-dollars per period, if limited.
    package var moneyLimitMicros: Int64?

    /// Creates a charge.
    package init(counter: BudgetCounter, tokenLimit: Int64?, moneyLimitMicros: Int64?) {
        self.counter = counter
        self.tokenLimit = tokenLimit
        self.moneyLimitMicros = moneyLimitMicros
    }
}

/// What one request counts against and reserves.
///
/// The rules, the same in every store:
/// - **Rate limits** follow the generic cell rate algorithm: a limit of `n` per minute holds up to `n` at once and
///   refills evenly over the minute, with no window boundaries. A request is admitted when every limit can take its
///   amount now; an amount larger than a limit can never be admitted.
/// - **Budgets** hold a counter per scope and period: what settled calls used, and what open reservations hold. A
///   request is admitted when, for every budget, `used + reserved + this reservation` stays within each limit set.
/// - Admission counts the request against every limit and reserves on every budget at once, or refuses and counts
///   nothing. Concurrent requests therefore cannot overshoot a budget.
/// - A reservation no one settles is released at ``expiresAt``.
package struct QuotaAdmission: Sendable, Hashable {
    /// The request id: the key of the reservation.
    package var requestID: String
    /// The rate limits.
    package var rates: [RateCharge]
    /// The budgets.
    package var budgets: [BudgetCharge]
    /// Tokens reserved: the prompt's plus the completion allowance.
    package var tokens: Int64
    /// Micro-dollars reserved: the reserved tokens at the model's price.
    package var micros: Int64
    /// When an unsettled reservation is released.
    package var expiresAt: Date

    /// Creates a plan.
    package init(
        requestID: String,
        rates: [RateCharge],
        budgets: [BudgetCharge],
        tokens: Int64,
        micros: Int64,
        expiresAt: Date
    ) {
        self.requestID = requestID
        self.rates = rates
        self.budgets = budgets
        self.tokens = tokens
        self.micros = micros
        self.expiresAt = expiresAt
    }

    /// Whether settling matters for this request: it reserves budget or counts estimated tokens.
    package var needsSettlement: Bool {
        !budgets.isEmpty || rates.contains { $0.unit == .tokens }
    }
}

/// A rate limit's state after a decision, for OpenAI's `x-ratelimit-*` headers.
package struct LimitState: Sendable, Hashable {
    /// The limit, per minute.
    package var limit: Int64
    /// What could be used now.
    package var remaining: Int64
    /// How long until the limit is whole again.
    package var reset: Duration

    /// Creates a state.
    package init(limit: Int64, remaining: Int64, reset: Duration) {
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
    }
}

/// A store's decision on a ``QuotaAdmission``.
package enum QuotaDecision: Sendable, Hashable {
    /// Admitted, counted and reserved: the tightest request and token limits' states (`nil` where none applies).
    case admitted(requests: LimitState?, tokens: LimitState?)
    /// A rate limit refused: its unit and state, and when the request could be admitted (`nil`: never, the request
    /// alone is larger than the limit).
    case rateLimited(RateCharge.Unit, LimitState, retryAfter: Duration?)
    /// A budget cannot hold the reservation: its counter.
    case budgetExhausted(BudgetCounter)
    /// These counters must be seeded from the ledger first; nothing was counted.
    case needsSeed([BudgetCounter])
}

/// What a budget counter's scope used in its period.
package struct BudgetUsage: Sendable, Hashable {
    /// Tokens, prompt and completion.
    package var tokens: Int64
    /// Micro-dollars.
    package var micros: Int64

    /// Creates a usage.
    package init(tokens: Int64, micros: Int64) {
        self.tokens = tokens
        self.micros = micros
    }
}

/// What one request used, to settle its reservation.
package struct QuotaSettlement: Sendable, Hashable {
    /// The request id (the reservation's key).
    package var requestID: String
    /// The ledger row that recorded it.
    package var ledgerID: Int64
    /// What it used.
    package var usage: BudgetUsage
    /// The counters its use is added to: the current period's of each scope with a budget.
    package var counters: [BudgetCounter]

    /// Creates a settlement.
    package init(requestID: String, ledgerID: Int64, usage: BudgetUsage, counters: [BudgetCounter]) {
        self.requestID = requestID
        self.ledgerID = ledgerID
        self.usage = usage
        self.counters = counters
    }
}

/// A budget counter's use and reservations.
package struct BudgetCounterStatus: Sendable, Hashable {
    /// What settled calls used.
    package var used: BudgetUsage
    /// What open reservations hold.
    package var reserved: BudgetUsage

    /// Creates a status.
    package init(used: BudgetUsage, reserved: BudgetUsage) {
        self.used = used
        self.reserved = reserved
    }
}
