import Foundation
import SluiceGovernance
import Synchronization

/// A ``GovernanceService`` over an in-memory key list that records what it received.
final class FakeGovernanceService: GovernanceService {
    private struct State {
        var keys: [APIKeyInfo] = []
        var authorizationRequests: [AuthorizationRequest] = []
        var usageRecords: [UsageRecord] = []
        var revocationReasons: [String] = []
        var policies: [Policy.Scope: PolicyRecord] = [:]
        var nextID = 1
    }

    private let authorizationResult: Result<Authorization, GovernanceError>
    private let state = Mutex(State())

    init(
        authorizationResult: Result<Authorization, GovernanceError> = .failure(
            GovernanceError(.internal, "not scripted")
        )
    ) {
        self.authorizationResult = authorizationResult
    }

    var authorizationRequests: [AuthorizationRequest] { state.withLock { $0.authorizationRequests } }
    var usageRecords: [UsageRecord] { state.withLock { $0.usageRecords } }
    /// The reasons given to revocations, in order.
    var revocationReasons: [String] { state.withLock { $0.revocationReasons } }

    func authorize(_ request: AuthorizationRequest) async throws -> Authorization {
        state.withLock { $0.authorizationRequests.append(request) }
        return try authorizationResult.get()
    }

    func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt {
        state.withLock { state in
            guard !state.usageRecords.contains(where: { $0.requestID == record.requestID }) else {
                return UsageReceipt(recorded: false, costMicros: 0)
            }
            state.usageRecords.append(record)
            return UsageReceipt(recorded: true, costMicros: Int64(record.promptTokens + record.completionTokens))
        }
    }

    func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey {
        guard !request.tenant.isEmpty else { throw GovernanceError(.invalidArgument, "A tenant name is required") }
        let info = state.withLock { state in
            defer { state.nextID += 1 }
            let info = APIKeyInfo(
                id: "key_\(state.nextID)",
                tenantID: "ten_\(request.tenant.utf8.count)",
                tenantName: request.tenant,
                name: request.name,
                allowedModels: request.allowedModels,
                roles: request.roles.isEmpty ? [.member] : request.roles,
                createdAt: Date(timeIntervalSince1970: 1_726_000_000 + Double(state.nextID)),
                revokedAt: nil
            )
            state.keys.append(info)
            return info
        }
        return CreatedKey(info: info, plaintext: "sk-sluice-\(info.id)-secret")
    }

    func listKeys(tenant: String?) async throws -> [APIKeyInfo] {
        state.withLock { state in state.keys.filter { tenant == nil || $0.tenantName == tenant } }
    }

    func revokeKey(id: String, reason: String) async throws -> APIKeyInfo {
        let found = state.withLock { state -> APIKeyInfo? in
            guard let index = state.keys.firstIndex(where: { $0.id == id && $0.revokedAt == nil }) else { return nil }
            state.keys[index].revokedAt = Date(timeIntervalSince1970: 1_726_100_000)
            state.revocationReasons.append(reason)
            return state.keys[index]
        }
        guard let found else { throw GovernanceError(.notFound, "No active API key has the id '\(id)'") }
        return found
    }

    /// Stores the policy as given; a key's effective policy is its own.
    func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord {
        try policy.validate()
        let record = PolicyRecord(
            scope: scope,
            policy: policy,
            updatedAt: Date(timeIntervalSince1970: 1_726_200_000),
            effective: { if case .key = scope { return Policy.tightest([policy]) } else { return nil } }()
        )
        state.withLock { $0.policies[scope] = record }
        return record
    }

    /// The stored policy, or `notFound`.
    func policy(for scope: Policy.Scope) async throws -> PolicyRecord {
        guard let record = state.withLock({ $0.policies[scope] }) else {
            throw GovernanceError(.notFound, "No policy for \(scope)")
        }
        return record
    }

    /// Totals of the recorded usage per model, ignoring the range: enough to carry a report across the wire.
    func queryUsage(_ query: UsageQuery) async throws -> UsageReport {
        try query.validate()
        let records = state.withLock { $0.usageRecords }.filter { query.model == nil || $0.model == query.model }
        var totals = UsageRow()
        var byModel: [String: UsageRow] = [:]
        for record in records {
            for key in [nil, record.model] as [String?] {
                var row = key.map { byModel[$0] ?? UsageRow() } ?? totals
                row.model = key ?? ""
                row.requests += 1
                row.promptTokens += Int64(record.promptTokens)
                row.completionTokens += Int64(record.completionTokens)
                if let key { byModel[key] = row } else { totals = row }
            }
        }
        let rows = query.groupBy == [.model] ? byModel.keys.sorted().map { byModel[$0]! } : [totals]
        return UsageReport(rows: rows, totals: totals)
    }
}
