package import Foundation
import GRDB
import Logging
import Synchronization

/// Rate limits and budgets: what a request counts against, reserves and settles.
extension LocalGovernanceService {
    /// Counts a chat request (or any operation, for requests per minute) against the limits of the key's scopes and
    /// reserves its worst case against their budgets.
    ///
    /// - Returns: The limit states and the reservation, in `authorization`.
    /// - Throws: ``GovernanceError`` `rateLimited`, `budgetExhausted`, or `unavailable` when the shared store is
    ///   unreachable and governance fails closed.
    func applyQuotas(
        _ request: AuthorizationRequest,
        record: StoredKey,
        to authorization: inout Authorization
    ) async throws {
        // A key no policy limits costs nothing more here: no plan, no price lookup, no store.
        guard !record.policies.isEmpty else { return }
        let now = Date()
        let plan = admission(for: request, record: record, at: now)
        guard !plan.rates.isEmpty || !plan.budgets.isEmpty else { return }
        let decision: QuotaDecision
        do {
            decision = try await decide(plan)
            quotaHealth.succeeded(logger: logger)
        } catch let error as QuotaStoreError {
            quotaHealth.failed(error, logger: logger)
            if settings.failOpen { return }
            throw GovernanceError(
                .unavailable,
                "Limits and budgets cannot be checked right now (the shared limit store is unreachable); try again shortly"
            )
        }
        switch decision {
        case .admitted(let requests, let tokens):
            authorization.requestLimit = requests
            authorization.tokenLimit = tokens
            if !plan.budgets.isEmpty {
                authorization.reservation = Reservation(
                    id: request.requestID,
                    tokens: plan.tokens,
                    micros: plan.micros,
                    completionTokens: plan.tokens - Int64(request.promptTokens ?? 0)
                )
            }
        case .rateLimited(let unit, let state, let retryAfter):
            var error: GovernanceError
            if let retryAfter {
                error = GovernanceError(
                    .rateLimited,
                    "Rate limit reached: \(state.limit) \(unit.rawValue) per minute; retry after the Retry-After interval"
                )
                error.retryAfter = retryAfter
            } else {
                error = GovernanceError(
                    .rateLimited,
                    "Request too large: it counts \(plan.rates.first { $0.unit == unit }?.amount ?? 0) tokens against "
                        + "a limit of \(state.limit) tokens per minute; send a shorter prompt or a smaller max_tokens"
                )
            }
            if unit == .requests { error.requestLimit = state } else { error.tokenLimit = state }
            throw error
        case .budgetExhausted(let counter):
            var error = GovernanceError(
                .budgetExhausted,
                "You exceeded your current quota: the \(counter.period == .day ? "daily" : "monthly") budget of "
                    + "\(Self.scopeKind(counter.scope)) cannot cover this request's reservation of \(plan.tokens) "
                    + "tokens (\(Self.dollars(plan.micros))); it renews at \(ISO8601DateFormatter().string(from: counter.end))"
            )
            error.retryAfter = .seconds(max(1, counter.end.timeIntervalSince(now)))
            throw error
        case .needsSeed:
            throw GovernanceError(.unavailable, "Budget counters could not be seeded; try again shortly")
        }
    }

    /// Asks the store, seeding counters from the ledger when it needs them.
    private func decide(_ plan: QuotaAdmission) async throws -> QuotaDecision {
        for _ in 0..<3 {
            let decision = try await quotas.admit(plan)
            guard case .needsSeed(let counters) = decision else { return decision }
            for counter in counters {
                let (usage, mark) = try await ledgerUsage(of: counter)
                try await quotas.seed(counter, with: usage, through: mark)
            }
        }
        return try await quotas.admit(plan)
    }

    /// What a request counts against: requests per minute for every operation; for calls to a model, tokens per
    /// minute (prompt + `max_tokens` or ``QuotaSettings/estimatedCompletionTokens``) and budgets (prompt +
    /// `max_tokens` or ``QuotaSettings/completionTokenCap``, at the model's price).
    func admission(for request: AuthorizationRequest, record: StoredKey, at now: Date) -> QuotaAdmission {
        let metered = request.model != nil && request.operation == .chat
        let prompt = Int64(max(0, request.promptTokens ?? 0))
        let maxTokens = request.maxTokens.map { Int64(max(0, $0)) }
        let estimate = prompt + (maxTokens ?? settings.estimatedCompletionTokens)
        let allowance = maxTokens ?? settings.completionTokenCap
        var rates: [RateCharge] = []
        var budgets: [BudgetCharge] = []
        for (scope, policy) in record.policies {
            // A changed limit starts afresh rather than inheriting the old limit's count.
            if let rpm = policy.requestsPerMinute {
                rates.append(RateCharge(key: "\(scope)#rpm#\(rpm)", unit: .requests, perMinute: Int64(rpm), amount: 1))
            }
            guard metered else { continue }
            if let tpm = policy.tokensPerMinute {
                rates.append(
                    RateCharge(key: "\(scope)#tpm#\(tpm)", unit: .tokens, perMinute: Int64(tpm), amount: estimate)
                )
            }
            for budget in policy.budgets {
                budgets.append(
                    BudgetCharge(
                        counter: BudgetCounter(scope: scope, period: budget.period, containing: now),
                        tokenLimit: budget.tokenLimit,
                        moneyLimitMicros: budget.moneyLimitMicros
                    )
                )
            }
        }
        // Priced only when a budget needs it: a price lookup matches every pattern of the book.
        let price = budgets.isEmpty ? nil : request.model.flatMap { prices.price(for: $0, at: now) }
        let micros = price?.cost(promptTokens: Int(prompt), completionTokens: Int(allowance)) ?? 0
        return QuotaAdmission(
            requestID: request.requestID,
            rates: rates,
            budgets: budgets,
            tokens: budgets.isEmpty ? 0 : prompt + allowance,
            micros: budgets.isEmpty ? 0 : micros,
            expiresAt: now.addingTimeInterval(Double(settings.reservationTimeout.components.seconds))
        )
    }

    /// Settles the reservations of newly recorded calls and adds their use to their budgets, for keys whose policies
    /// limit tokens or set budgets. A store that cannot be reached is logged and the records stay in the ledger;
    /// counters are seeded again from it when they are lost.
    func settle(_ recorded: [(record: UsageRecord, ledgerID: Int64, micros: Int64)]) async {
        let now = Date()
        var settlements: [QuotaSettlement] = []
        for (record, ledgerID, micros) in recorded {
            let policies = (try? await storedKey(id: record.principal.keyID))?.policies ?? []
            // Only limits in tokens and budgets are settled; a key without them costs the store nothing here.
            guard policies.contains(where: { $0.policy.tokensPerMinute != nil || !$0.policy.budgets.isEmpty }) else {
                continue
            }
            let counters = policies.flatMap { scope, policy in
                policy.budgets.map { BudgetCounter(scope: scope, period: $0.period, containing: now) }
            }
            settlements.append(
                QuotaSettlement(
                    requestID: record.requestID,
                    ledgerID: ledgerID,
                    usage: BudgetUsage(tokens: Int64(record.promptTokens + record.completionTokens), micros: micros),
                    counters: counters
                )
            )
        }
        guard !settlements.isEmpty else { return }
        // As one batch: a shared store sends a ledger batch's settlements in one round trip.
        for error in await quotas.settle(batch: settlements) {
            quotaHealth.failed(error, logger: logger)
        }
    }

    /// The ledger's use of a counter's scope in its period, and the highest ledger row id the sum saw.
    func ledgerUsage(of counter: BudgetCounter) async throws -> (BudgetUsage, mark: Int64) {
        let (column, id): (String, String) =
            switch counter.scope {
            case .tenant(let id): ("tenant_id", id)
            case .project(let id): ("project_id", id)
            case .key(let id): ("key_id", id)
            }
        return try await store.writer.read { db in
            let mark = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM usage_ledger") ?? 0
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens,
                           COALESCE(SUM(cost_micros), 0) AS micros
                    FROM usage_ledger
                    WHERE \(column) = ? AND recorded_at >= ? AND recorded_at < ? AND id <= ?
                    """,
                arguments: [id, counter.start, counter.end, mark]
            )
            return (BudgetUsage(tokens: row?["tokens"] ?? 0, micros: row?["micros"] ?? 0), mark)
        }
    }

    /// The budgets of a scope's policy with their consumption in the current periods.
    func budgetStatus(of scope: Policy.Scope, policy: Policy) async throws -> [BudgetStatus] {
        guard !policy.budgets.isEmpty else { return [] }
        let now = Date()
        let counters = policy.budgets.map { BudgetCounter(scope: scope, period: $0.period, containing: now) }
        var statuses = try await quotas.status(of: counters)
        for (index, counter) in counters.enumerated() where statuses[index] == nil {
            let (usage, mark) = try await ledgerUsage(of: counter)
            try await quotas.seed(counter, with: usage, through: mark)
            statuses[index] = try await quotas.status(of: [counter]).first ?? nil
        }
        return zip(policy.budgets, zip(counters, statuses)).map { budget, pair in
            BudgetStatus(
                budget: budget,
                start: pair.0.start,
                end: pair.0.end,
                used: pair.1?.used ?? BudgetUsage(tokens: 0, micros: 0),
                reserved: pair.1?.reserved ?? BudgetUsage(tokens: 0, micros: 0)
            )
        }
    }

    private static func scopeKind(_ scope: Policy.Scope) -> String {
        switch scope {
        case .tenant: "your organization"
        case .project: "your project"
        case .key: "this API key"
        }
    }

    /// Micro-dollars as dollars, to the cent rounded up ("$0.02").
    static func dollars(_ micros: Int64) -> String {
        let cents = (micros + 9_999) / 10_000
        return "$\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
    }
}

/// Settings of rate limits and budgets (`governance.limits` in the configuration).
package struct QuotaSettings: Sendable, Hashable {
    /// Completion tokens a request without `max_tokens` counts against tokens-per-minute limits until its real use
    /// corrects the count.
    package var estimatedCompletionTokens: Int64
    /// Completion tokens a request without `max_tokens` reserves against budgets; a stream that reaches its
    /// reservation is ended there.
    package var completionTokenCap: Int64
    /// How long an unsettled reservation holds budget.
    package var reservationTimeout: Duration
    /// Whether requests go through without limits while the shared store is unreachable, rather than being refused.
    package var failOpen: Bool

    /// Creates settings; the defaults are the documented ones.
    package init(
        estimatedCompletionTokens: Int64 = 1_024,
        completionTokenCap: Int64 = 4_096,
        reservationTimeout: Duration = .seconds(600),
        failOpen: Bool = false
    ) {
        self.estimatedCompletionTokens = estimatedCompletionTokens
        self.completionTokenCap = completionTokenCap
        self.reservationTimeout = reservationTimeout
        self.failOpen = failOpen
    }
}

/// A budget with its consumption in the current period.
package struct BudgetStatus: Sendable, Hashable {
    /// The budget.
    package var budget: Policy.Budget
    /// Start of the current period.
    package var start: Date
    /// End of the current period (exclusive).
    package var end: Date
    /// What settled calls used.
    package var used: BudgetUsage
    /// What open reservations hold.
    package var reserved: BudgetUsage

    /// Creates a status.
    package init(budget: Policy.Budget, start: Date, end: Date, used: BudgetUsage, reserved: BudgetUsage) {
        self.budget = budget
        self.start = start
        self.end = end
        self.used = used
        self.reserved = reserved
    }
}

/// Whether the quota store answers; logs once when it stops and once when it is back, and keeps a metric.
final class QuotaStoreHealth: Sendable {
    private let down = Atomic<Bool>(false)

    func failed(_ error: any Error, logger: Logger) {
        GovernanceMetrics.limitStoreFailed()
        if !down.exchange(true, ordering: .acquiringAndReleasing) {
            GovernanceMetrics.limitStore(up: false)
            logger.error(
                "the limit store is unreachable; limits and budgets cannot be checked",
                metadata: ["error": "\(error)"]
            )
        }
    }

    func succeeded(logger: Logger) {
        guard down.load(ordering: .acquiring), down.exchange(false, ordering: .acquiringAndReleasing) else { return }
        GovernanceMetrics.limitStore(up: true)
        logger.notice("the limit store answers again")
    }
}
