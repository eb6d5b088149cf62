import Foundation

/// The limits and controls of one scope: a tenant, a project or a key.
///
/// Unset fields do not limit at their level. A key's effective policy is the tightest of its scopes (its tenant's,
/// its project's and its own): allow-lists intersect, limits take the smaller value, switches the stricter. Limits
/// and budgets are counted per scope: a tenant's requests per minute and budgets count every key of the tenant.
package struct Policy: Sendable, Hashable, Codable {
    /// Model allow-list (public names, `*` wildcards); `nil` does not restrict.
    package var allowedModels: [String]?
    /// Requests per minute.
    package var requestsPerMinute: Int?
    /// Tokens (prompt and completion) per minute.
    package var tokensPerMinute: Int?
    /// Spending caps, at most one per period.
    package var budgets: [Budget]
    /// Whether keys may override routing (`X-Sluice-Route`); `nil` leaves it to the key's role.
    package var allowRouteOverride: Bool?

    /// Creates a policy.
    package init(
        allowedModels: [String]? = nil,
        requestsPerMinute: Int? = nil,
        tokensPerMinute: Int? = nil,
        budgets: [Budget] = [],
        allowRouteOverride: Bool? = nil
    ) {
        self.allowedModels = allowedModels
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budgets = budgets
        self.allowRouteOverride = allowRouteOverride
    }

    /// A spending cap per UTC calendar period.
    package struct Budget: Sendable, Hashable, Codable {
        /// The period.
        package var period: Period
        /// Tokens (prompt and completion) per period.
        package var tokenLimit: Int64?
        /// Money per period, in micro-dollars.
        package var moneyLimitMicros: Int64?

        /// Creates a budget.
        package init(period: Period, tokenLimit: Int64? = nil, moneyLimitMicros: Int64? = nil) {
            self.period = period
            self.tokenLimit = tokenLimit
            self.moneyLimitMicros = moneyLimitMicros
        }
    }

    /// A budget period, in UTC.
    package enum Period: String, Sendable, Hashable, Codable, CaseIterable {
        /// A calendar day.
        case day
        /// A calendar month.
        case month
    }

    /// What a policy applies to.
    package enum Scope: Sendable, Hashable, CustomStringConvertible {
        /// A tenant: by id, or on input also by name.
        case tenant(String)
        /// A project: by id, or on input also as `tenant/project` (each by name or id).
        case project(String)
        /// A key, by id.
        case key(String)

        /// The scope as stored: `tenant:ID`, `project:ID`, `key:ID`.
        package var description: String {
            switch self {
            case .tenant(let id): "tenant:\(id)"
            case .project(let id): "project:\(id)"
            case .key(let id): "key:\(id)"
            }
        }
    }

    /// Checks the policy, naming the first offending field.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument`: a limit that is zero or negative, an empty or malformed
    ///   model name, two budgets for one period, a budget with no limit.
    package func validate() throws {
        func invalid(_ message: String) -> GovernanceError { GovernanceError(.invalidArgument, message) }
        if let rpm = requestsPerMinute, rpm <= 0 { throw invalid("rpm must be a positive number, not \(rpm)") }
        if let tpm = tokensPerMinute, tpm <= 0 { throw invalid("tpm must be a positive number, not \(tpm)") }
        for (index, model) in (allowedModels ?? []).enumerated()
        where model.isEmpty || model.count > 256 || model.contains(where: \.isWhitespace) {
            throw invalid("allowed_models[\(index)] must be a model name or pattern without spaces")
        }
        var periods = Set<Period>()
        for (index, budget) in budgets.enumerated() {
            guard periods.insert(budget.period).inserted else {
                throw invalid("budgets[\(index)]: a second budget for the period '\(budget.period.rawValue)'")
            }
            guard budget.tokenLimit != nil || budget.moneyLimitMicros != nil else {
                throw invalid("budgets[\(index)] needs token_limit or money_limit_micros")
            }
            if let tokens = budget.tokenLimit, tokens <= 0 {
                throw invalid("budgets[\(index)].token_limit must be a positive number, not \(tokens)")
            }
            if let money = budget.moneyLimitMicros, money <= 0 {
                throw invalid("budgets[\(index)].money_limit_micros must be a positive number, not \(money)")
            }
        }
    }

    /// The tightest combination of policies: allow-lists intersected (a model must be allowed by each), the smaller
    /// of each limit and budget, and a route override only when no policy forbids it.
    ///
    /// - Parameter policies: The policies of a key's scopes, in any order.
    /// - Returns: The effective policy.
    package static func tightest(_ policies: [Policy]) -> EffectivePolicy {
        var effective = EffectivePolicy()
        for policy in policies {
            if let models = policy.allowedModels { effective.allowLists.append(models) }
            effective.requestsPerMinute = smaller(effective.requestsPerMinute, policy.requestsPerMinute)
            effective.tokensPerMinute = smaller(effective.tokensPerMinute, policy.tokensPerMinute)
            for budget in policy.budgets {
                var merged = effective.budgets[budget.period] ?? Budget(period: budget.period)
                merged.tokenLimit = smaller(merged.tokenLimit, budget.tokenLimit)
                merged.moneyLimitMicros = smaller(merged.moneyLimitMicros, budget.moneyLimitMicros)
                effective.budgets[budget.period] = merged
            }
            if let allow = policy.allowRouteOverride {
                effective.allowRouteOverride = (effective.allowRouteOverride ?? true) && allow
            }
        }
        return effective
    }

    private static func smaller<Value: Comparable>(_ lhs: Value?, _ rhs: Value?) -> Value? {
        switch (lhs, rhs) {
        case (let lhs?, let rhs?): min(lhs, rhs)
        case (let lhs?, nil): lhs
        case (nil, let rhs): rhs
        }
    }
}

/// A key's policy after narrowing by every scope it belongs to.
package struct EffectivePolicy: Sendable, Hashable {
    /// Every allow-list that applies; a model must match each.
    package var allowLists: [[String]] = []
    /// The smallest requests-per-minute limit.
    package var requestsPerMinute: Int?
    /// The smallest tokens-per-minute limit.
    package var tokensPerMinute: Int?
    /// The smallest budget of each period.
    package var budgets: [Policy.Period: Policy.Budget] = [:]
    /// Whether route overrides are allowed (`nil` when no policy says).
    package var allowRouteOverride: Bool?

    /// Creates an empty effective policy: nothing limited.
    package init() {}
}
