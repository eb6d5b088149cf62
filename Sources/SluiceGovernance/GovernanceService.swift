package import Foundation

/// The governance service: who is calling, what they may do, and what they used.
///
/// ``LocalGovernanceService`` implements it on SQLite; the gRPC adapter serves it and implements it again as a
/// client. The edge asks it about every request before calling any other service.
///
/// ```swift
/// let authorization = try await governance.authorize(
///     AuthorizationRequest(credential: bearerToken, operation: .chat, model: "gpt-4o", requestID: id)
/// )
/// print(authorization.principal.tenantName)
/// ```
package protocol GovernanceService: Sendable {
    /// Checks a credential and an operation.
    ///
    /// - Parameter request: The credential, the operation and the model it concerns.
    /// - Returns: The caller and what they may use.
    /// - Throws: ``GovernanceError`` with `unauthenticated` or `permissionDenied`.
    func authorize(_ request: AuthorizationRequest) async throws -> Authorization

    /// Records the usage of one completed call in the ledger, priced.
    ///
    /// - Parameter record: What was used.
    /// - Returns: Whether the record was new (a repeated request id changes nothing) and the cost charged.
    @discardableResult
    func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt

    /// Records several completed calls; implementations may write them in one transaction.
    ///
    /// - Parameter records: What was used, in completion order.
    func recordUsage(batch records: [UsageRecord]) async throws

    /// Creates an API key for a tenant, creating the tenant if needed.
    ///
    /// - Parameter request: The tenant, name, allowed models and roles.
    /// - Returns: The key's details and its plaintext, which is never available again.
    func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey

    /// Lists API keys, never their secrets.
    ///
    /// - Parameter tenant: A tenant name to filter by, or `nil` for all.
    /// - Returns: The keys, oldest first.
    func listKeys(tenant: String?) async throws -> [APIKeyInfo]

    /// Revokes a key; later requests with it are rejected.
    ///
    /// - Parameters:
    ///   - id: The key id.
    ///   - reason: Why, for the audit log; may be empty.
    /// - Returns: The revoked key.
    /// - Throws: ``GovernanceError`` with `notFound` for an unknown or already revoked key.
    @discardableResult
    func revokeKey(id: String, reason: String) async throws -> APIKeyInfo

    /// Aggregates the usage ledger.
    ///
    /// - Parameter query: The range, filters and grouping.
    /// - Returns: The rows and their totals.
    /// - Throws: ``GovernanceError`` `invalidArgument` for a malformed query, `notFound` for an unknown tenant.
    func queryUsage(_ query: UsageQuery) async throws -> UsageReport

    /// Replaces the policy of a tenant (by name or id), a project (by id or `tenant/project`) or a key.
    ///
    /// - Parameters:
    ///   - policy: The new policy.
    ///   - scope: What it applies to.
    /// - Returns: The stored policy, its scope resolved to ids.
    /// - Throws: ``GovernanceError`` `invalidArgument` naming the offending field, `notFound` for an unknown scope.
    @discardableResult
    func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord

    /// The policy of a tenant (by name or id), a project (by id or `tenant/project`) or a key, with its budgets'
    /// consumption; an empty policy when none was set.
    ///
    /// - Parameter scope: What it applies to.
    /// - Returns: The policy, and for a key its effective policy.
    /// - Throws: ``GovernanceError`` `notFound` for an unknown scope.
    func policy(for scope: Policy.Scope) async throws -> PolicyRecord
}

/// A stored policy.
package struct PolicyRecord: Sendable, Hashable {
    /// What it applies to, by id.
    package var scope: Policy.Scope
    /// The policy.
    package var policy: Policy
    /// When it was last set; `nil` when it never was.
    package var updatedAt: Date?
    /// For a key: the tightest of its tenant's, its project's and its own policy.
    package var effective: EffectivePolicy?
    /// The policy's budgets with their consumption in the current periods.
    package var budgets: [BudgetStatus] = []

    /// Creates a record.
    package init(scope: Policy.Scope, policy: Policy, updatedAt: Date?, effective: EffectivePolicy? = nil) {
        self.scope = scope
        self.policy = policy
        self.updatedAt = updatedAt
        self.effective = effective
    }
}

extension GovernanceService {
    /// Records each record in turn; services that can write a batch at once override this.
    ///
    /// - Parameter records: What was used, in completion order.
    package func recordUsage(batch records: [UsageRecord]) async throws {
        for record in records {
            try await recordUsage(record)
        }
    }

    /// Revokes a key without a reason; see ``revokeKey(id:reason:)``.
    ///
    /// - Parameter id: The key id.
    package func revokeKey(id: String) async throws {
        try await revokeKey(id: id, reason: "")
    }
}

/// What a caller wants to do.
package struct AuthorizationRequest: Sendable, Hashable {
    /// The presented credential: an API key, without the `Bearer ` prefix.
    package var credential: String
    /// The operation.
    package var operation: Operation
    /// The public model the operation concerns, if any.
    package var model: String?
    /// The request id, for the audit trail.
    package var requestID: String
    /// A route override the caller asks for (`X-Sluice-Route`, "provider/model"), or `nil`; only admins may.
    package var route: String?
    /// The prompt's tokens, counted or estimated by the caller, for tokens-per-minute limits and budgets.
    package var promptTokens: Int?
    /// The completion tokens the request allows (`max_tokens`), or `nil` when it sets none.
    package var maxTokens: Int?

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - credential: The presented credential.
    ///   - operation: The operation.
    ///   - model: The public model concerned.
    ///   - requestID: The request id.
    ///   - route: A route override the caller asks for.
    ///   - promptTokens: The prompt's tokens.
    ///   - maxTokens: The completion tokens the request allows.
    package init(
        credential: String,
        operation: Operation,
        model: String? = nil,
        requestID: String = "",
        route: String? = nil,
        promptTokens: Int? = nil,
        maxTokens: Int? = nil
    ) {
        self.credential = credential
        self.operation = operation
        self.model = model
        self.requestID = requestID
        self.route = route
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
    }

    /// An operation governed by policy.
    package struct Operation: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// The stable text form.
        package let rawValue: String
        /// Creates an operation from its text form.
        ///
        /// - Parameter rawValue: The text form.
        package init(rawValue: String) { self.rawValue = rawValue }
        /// A readable form, for logs and error messages.
        package var description: String { rawValue }

        /// A chat completion.
        package static let chat = Operation(rawValue: "chat")
        /// Listing models.
        package static let listModels = Operation(rawValue: "models.list")
        /// Counting tokens.
        package static let countTokens = Operation(rawValue: "tokens.count")
        /// An administrative call.
        package static let admin = Operation(rawValue: "admin")
    }
}

/// A caller that governance recognised.
package struct Principal: Sendable, Hashable, Codable {
    /// The tenant id.
    package var tenantID: String
    /// The tenant name.
    package var tenantName: String
    /// The API key id.
    package var keyID: String
    /// The key's roles.
    package var roles: [Role]
    /// The project id of the key, when it belongs to one.
    package var projectID: String?

    /// Creates a principal.
    ///
    /// - Parameters:
    ///   - tenantID: The tenant id.
    ///   - tenantName: The tenant name.
    ///   - keyID: The API key id.
    ///   - roles: The key's roles.
    ///   - projectID: The key's project id, if any.
    package init(tenantID: String, tenantName: String, keyID: String, roles: [Role], projectID: String? = nil) {
        self.tenantID = tenantID
        self.tenantName = tenantName
        self.keyID = keyID
        self.roles = roles
        self.projectID = projectID
    }
}

/// A role a key holds.
package enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// May call models and administer tenants, keys and policies.
    case admin
    /// May call models.
    case member
}

/// The outcome of a successful authorization.
package struct Authorization: Sendable, Hashable {
    /// Who is calling.
    package var principal: Principal
    /// The models the caller's key may use, or `nil` for every model.
    package var allowedModels: [String]?
    /// The allow-lists of the caller's policies; a model must match each.
    package var policyAllowLists: [[String]] = []
    /// The tightest requests-per-minute limit that counted this request, for `x-ratelimit-*-requests`.
    package var requestLimit: LimitState?
    /// The tightest tokens-per-minute limit that counted this request, for `x-ratelimit-*-tokens`.
    package var tokenLimit: LimitState?
    /// What the request reserved against its budgets; `nil` when no budget applies.
    package var reservation: Reservation?

    /// Creates an authorization.
    ///
    /// - Parameters:
    ///   - principal: Who is calling.
    ///   - allowedModels: The models the caller may use, or `nil` for all.
    package init(principal: Principal, allowedModels: [String]?) {
        self.principal = principal
        self.allowedModels = allowedModels
    }

    /// Whether the caller may use a model.
    ///
    /// An entry is a public model name, in which `*` stands for any run of characters (`gpt-4o*` allows `gpt-4o` and
    /// `gpt-4o-mini`).
    ///
    /// - Parameter model: The public model name.
    /// - Returns: `true` when the key's allow-list (if any) and every policy allow-list have an entry that matches.
    package func allows(model: String) -> Bool {
        (allowedModels.map { $0.contains { Self.matches(model, pattern: $0) } } ?? true)
            && policyAllowLists.allSatisfy { list in list.contains { Self.matches(model, pattern: $0) } }
    }

    /// Whether a name matches an allow-list entry in which `*` stands for any run of characters.
    static func matches(_ name: String, pattern: String) -> Bool {
        guard pattern.contains("*") else { return name == pattern }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
        var rest = Substring(name)
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        for part in parts.dropFirst().dropLast() {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last ?? "")
    }
}

/// What a request reserved against its budgets until its usage is recorded.
package struct Reservation: Sendable, Hashable {
    /// The reservation's id: the request id.
    package var id: String
    /// Tokens reserved: the prompt's and ``completionTokens``.
    package var tokens: Int64
    /// Micro-dollars reserved.
    package var micros: Int64
    /// The completion tokens the reservation covers: a stream that reaches them is ended.
    package var completionTokens: Int64

    /// Creates a reservation.
    package init(id: String, tokens: Int64, micros: Int64, completionTokens: Int64) {
        self.id = id
        self.tokens = tokens
        self.micros = micros
        self.completionTokens = completionTokens
    }
}

/// What recording one call's usage did.
package struct UsageReceipt: Sendable, Hashable {
    /// `false` when the ledger already held a record with its request id: nothing changed.
    package var recorded: Bool
    /// The cost charged, in micro-dollars (0 when the model has no price, or nothing was recorded).
    package var costMicros: Int64

    /// Creates a receipt.
    package init(recorded: Bool, costMicros: Int64) {
        self.recorded = recorded
        self.costMicros = costMicros
    }
}

/// The usage of one completed call.
package struct UsageRecord: Sendable, Hashable, Codable {
    /// The request id.
    package var requestID: String
    /// The caller.
    package var principal: Principal
    /// The public model.
    package var model: String
    /// The provider that answered, or empty when none did.
    package var provider: String
    /// The upstream model that answered.
    package var upstreamModel: String
    /// Prompt tokens.
    package var promptTokens: Int
    /// Completion tokens.
    package var completionTokens: Int
    /// Whether the counts were estimated.
    package var isEstimated: Bool
    /// Wall time of the call, in milliseconds.
    package var latencyMilliseconds: Int
    /// `ok`, or the error code that ended the call.
    package var outcome: String
    /// Prompt tokens served from the provider's prompt cache (included in ``promptTokens``); `nil` for none (and in
    /// records spooled before Sluice kept them).
    package var cachedPromptTokens: Int?

    /// Creates a usage record.
    ///
    /// - Parameters:
    ///   - requestID: The request id.
    ///   - principal: The caller.
    ///   - model: The public model.
    ///   - provider: The provider that answered.
    ///   - upstreamModel: The upstream model that answered.
    ///   - promptTokens: Prompt tokens.
    ///   - completionTokens: Completion tokens.
    ///   - isEstimated: Whether the counts were estimated.
    ///   - latencyMilliseconds: Wall time of the call.
    ///   - outcome: `ok` or an error code.
    ///   - cachedPromptTokens: Prompt tokens served from the provider's cache.
    package init(
        requestID: String,
        principal: Principal,
        model: String,
        provider: String,
        upstreamModel: String,
        promptTokens: Int,
        completionTokens: Int,
        isEstimated: Bool,
        latencyMilliseconds: Int,
        outcome: String,
        cachedPromptTokens: Int? = nil
    ) {
        self.requestID = requestID
        self.principal = principal
        self.model = model
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.isEstimated = isEstimated
        self.latencyMilliseconds = latencyMilliseconds
        self.outcome = outcome
        self.cachedPromptTokens = cachedPromptTokens
    }
}
