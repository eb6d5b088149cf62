import Foundation
import SluiceGovernance
import SluiceProtos
import SwiftProtobuf

// Policies between the domain and `sluice.governance.v1`.

extension Policy.Scope {
    /// Decodes a scope.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` for a missing or empty scope.
    init(proto: Sluice_Governance_V1_PolicyScope) throws {
        switch proto.scope {
        case .tenantID(let tenant) where !tenant.isEmpty: self = .tenant(tenant)
        case .keyID(let key) where !key.isEmpty: self = .key(key)
        case .projectID(let project) where !project.isEmpty: self = .project(project)
        default: throw GovernanceError(.invalidArgument, "scope must name a tenant_id, a project_id or a key_id")
        }
    }
}

extension Sluice_Governance_V1_PolicyScope {
    /// Encodes a scope.
    init(_ scope: Policy.Scope) {
        self.init()
        switch scope {
        case .tenant(let id): tenantID = id
        case .project(let id): projectID = id
        case .key(let id): keyID = id
        }
    }
}

extension Policy {
    /// Decodes a policy, refusing the controls Sluice does not enforce yet rather than storing them.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` for PII redaction or moderation, or an unknown budget period.
    init(proto: Sluice_Governance_V1_Policy) throws {
        if proto.hasRedactPii || proto.hasModerate {
            throw GovernanceError(.invalidArgument, "redact_pii and moderate are not enforced yet; leave them unset")
        }
        let budgets = try proto.budgets.enumerated().map { index, budget -> Budget in
            let period: Period
            switch budget.period {
            case .day: period = .day
            case .month: period = .month
            case .unspecified, .UNRECOGNIZED:
                throw GovernanceError(.invalidArgument, "budgets[\(index)].period must be DAY or MONTH")
            }
            return Budget(
                period: period,
                tokenLimit: budget.hasTokenLimit ? budget.tokenLimit : nil,
                moneyLimitMicros: budget.hasMoneyLimitMicros ? budget.moneyLimitMicros : nil
            )
        }
        self.init(
            allowedModels: proto.allowedModels.isEmpty ? nil : proto.allowedModels,
            requestsPerMinute: proto.hasRpm ? Int(proto.rpm) : nil,
            tokensPerMinute: proto.hasTpm ? Int(proto.tpm) : nil,
            budgets: budgets,
            allowRouteOverride: proto.hasAllowRouteOverride ? proto.allowRouteOverride : nil
        )
    }
}

extension Sluice_Governance_V1_Policy {
    /// Encodes a policy of a scope.
    init(_ policy: Policy, scope: Policy.Scope, updatedAt: Date?) {
        self.init()
        self.scope = Sluice_Governance_V1_PolicyScope(scope)
        allowedModels = policy.allowedModels ?? []
        if let rpm = policy.requestsPerMinute { self.rpm = Int32(clamping: rpm) }
        if let tpm = policy.tokensPerMinute { self.tpm = Int64(tpm) }
        budgets = policy.budgets.map(Sluice_Governance_V1_Budget.init)
        if let allow = policy.allowRouteOverride { allowRouteOverride = allow }
        if let updatedAt { self.updatedAt = Google_Protobuf_Timestamp(date: updatedAt) }
    }

    /// Encodes an effective policy: one allow-list only when exactly one applies (the others are in the answer's
    /// own policies), the smallest limits and the stricter switch.
    init(effective: EffectivePolicy, scope: Policy.Scope) {
        self.init()
        self.scope = Sluice_Governance_V1_PolicyScope(scope)
        allowedModels = effective.allowLists.count == 1 ? effective.allowLists[0] : []
        if let rpm = effective.requestsPerMinute { self.rpm = Int32(clamping: rpm) }
        if let tpm = effective.tokensPerMinute { self.tpm = Int64(tpm) }
        budgets = Policy.Period.allCases.compactMap { effective.budgets[$0] }.map(Sluice_Governance_V1_Budget.init)
        if let allow = effective.allowRouteOverride { allowRouteOverride = allow }
    }
}

extension Sluice_Governance_V1_Budget {
    /// Encodes a budget.
    init(_ budget: Policy.Budget) {
        self.init()
        period = budget.period == .day ? .day : .month
        if let tokens = budget.tokenLimit { tokenLimit = tokens }
        if let money = budget.moneyLimitMicros { moneyLimitMicros = money }
    }
}

extension Sluice_Governance_V1_BudgetStatus {
    /// Encodes a budget's consumption.
    init(_ status: BudgetStatus) {
        self.init()
        period = status.budget.period == .day ? .day : .month
        periodStart = Google_Protobuf_Timestamp(date: status.start)
        periodEnd = Google_Protobuf_Timestamp(date: status.end)
        tokensUsed = status.used.tokens
        moneyUsedMicros = status.used.micros
        tokensReserved = status.reserved.tokens
        moneyReservedMicros = status.reserved.micros
    }
}

extension BudgetStatus {
    /// Decodes a budget's consumption, given the policy's budget of its period.
    init(proto: Sluice_Governance_V1_BudgetStatus, budget: Policy.Budget) {
        self.init(
            budget: budget,
            start: proto.periodStart.date,
            end: proto.periodEnd.date,
            used: BudgetUsage(tokens: proto.tokensUsed, micros: proto.moneyUsedMicros),
            reserved: BudgetUsage(tokens: proto.tokensReserved, micros: proto.moneyReservedMicros)
        )
    }
}

extension Sluice_Governance_V1_GetPolicyResponse {
    /// Encodes a stored policy.
    init(_ record: PolicyRecord) {
        self.init()
        policy = Sluice_Governance_V1_Policy(record.policy, scope: record.scope, updatedAt: record.updatedAt)
        if let effective = record.effective {
            self.effective = Sluice_Governance_V1_Policy(effective: effective, scope: record.scope)
        }
        budgets = record.budgets.map(Sluice_Governance_V1_BudgetStatus.init)
    }
}

extension PolicyRecord {
    /// Decodes a stored policy; a key's effective policy is rebuilt from the limits the answer carries.
    init(proto: Sluice_Governance_V1_GetPolicyResponse) throws {
        let scope = try Policy.Scope(proto: proto.policy.scope)
        var effective: EffectivePolicy?
        if proto.hasEffective {
            var tightest = Policy.tightest([try Policy(proto: proto.effective)])
            tightest.allowLists = proto.effective.allowedModels.isEmpty ? [] : [proto.effective.allowedModels]
            effective = tightest
        }
        let policy = try Policy(proto: proto.policy)
        self.init(
            scope: scope,
            policy: policy,
            updatedAt: proto.policy.hasUpdatedAt ? proto.policy.updatedAt.date : nil,
            effective: effective
        )
        budgets = proto.budgets.compactMap { status in
            let period: Policy.Period = status.period == .day ? .day : .month
            return policy.budgets.first { $0.period == period }.map { BudgetStatus(proto: status, budget: $0) }
        }
    }
}
