package import GRPCCore
import ServiceLifecycle
package import SluiceGovernance
import SluiceProtos

/// A ``GovernanceService`` that calls a remote `sluice.governance.v1.GovernanceService`.
///
/// Every call carries the `timeout` deadline (`CallOptions.timeout`), `authorization: Bearer <token>` when an internal
/// token is configured, and `x-request-id` when the domain value has a request id. A denied `AuthorizeResponse` comes
/// back as the ``GovernanceError`` the local service would have thrown (`unauthenticated`, `model_not_allowed` or
/// `permission_denied`); other server errors come back with their exact domain code. Anything else (the server is
/// unreachable, the deadline passed, the internal token was refused) is ``GovernanceError/Code/internal``, so callers
/// fail closed.
///
/// The client is a `Service`: add it to the process's `ServiceGroup`, whose graceful shutdown lets in-flight calls
/// finish before the connections close.
///
/// ```swift
/// let grpc = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(host: "127.0.0.1", port: 50062),
///                                                      transportSecurity: .plaintext))
/// let governance = GovernanceGRPCClient(client: grpc, authorizationToken: token)
/// let group = ServiceGroup(services: [governance, edge], logger: logger)
/// ```
package struct GovernanceGRPCClient<Transport: ClientTransport>: GovernanceService, Service {
    private let grpcClient: GRPCClient<Transport>
    private let client: Sluice_Governance_V1_GovernanceService.Client<Transport>
    private let timeout: Duration
    private let authorization: String?
    private let executor: (any TaskExecutor)?

    /// Creates a client.
    ///
    /// The client does nothing until ``run()`` runs; calls made before wait for it.
    ///
    /// - Parameters:
    ///   - client: The gRPC client for the governance service's address. ``run()`` runs its connections; do not run
    ///     them elsewhere.
    ///   - timeout: The deadline of each call.
    ///   - authorizationToken: The shared internal token, sent as `authorization: Bearer <token>`; `nil` sends none.
    ///   - executor: Where the connections run; pass the executor of the event loop the transport uses.
    package init(
        client: GRPCClient<Transport>,
        timeout: Duration = .seconds(30),
        authorizationToken: String? = nil,
        executor: (any TaskExecutor)? = nil
    ) {
        self.executor = executor
        self.grpcClient = client
        self.client = Sluice_Governance_V1_GovernanceService.Client(wrapping: client)
        self.timeout = timeout
        self.authorization = authorizationToken.map { "Bearer \($0)" }
    }

    /// Runs the connections until graceful shutdown (in-flight calls finish first) or cancellation.
    package func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskExecutorPreference(executor) { try await grpcClient.runConnections() }
        } onGracefulShutdown: {
            grpcClient.beginGracefulShutdown()
        }
    }

    /// Starts a graceful shutdown without a `ServiceGroup`: as if the group had signalled it to ``run()``.
    package func beginGracefulShutdown() {
        grpcClient.beginGracefulShutdown()
    }

    /// Checks a credential and an operation with the remote service.
    ///
    /// Every call asks governance: the decision is governance's alone, and once limits and budgets exist an answer
    /// reused at the edge would let requests past them.
    ///
    /// - Parameter request: The credential, the operation and the model it concerns.
    /// - Returns: The caller and what they may use.
    /// - Throws: ``GovernanceError``; a denial as `unauthenticated`, `modelNotAllowed`, `permissionDenied` or
    ///   `routeNotAllowed`.
    package func authorize(_ request: AuthorizationRequest) async throws -> Authorization {
        var metadata = metadata(requestID: request.requestID)
        metadata.addString(request.operation.rawValue, forKey: GovernanceMetadata.operation)
        let message = Sluice_Governance_V1_AuthorizeRequest(request)
        let response = try await call(metadata) { metadata, options in
            try await client.authorize(message, metadata: metadata, options: options)
        }
        switch response.decision {
        case .allowed:
            return Authorization(proto: response)
        case .denied:
            throw GovernanceError(denial: response)
        case .unspecified, .UNRECOGNIZED:
            throw GovernanceError(.internal, "The governance service answered without a decision")
        }
    }

    /// Records a usage record with the remote service.
    ///
    /// - Parameter record: What was used.
    /// - Throws: ``GovernanceError``.
    @discardableResult
    package func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt {
        var metadata = metadata(requestID: record.requestID)
        GovernanceMetadata.addTenantNames([record.principal.tenantName], to: &metadata)
        metadata.addString(
            record.principal.roles.map(\.rawValue).joined(separator: ","),
            forKey: GovernanceMetadata.roles
        )
        let message = Sluice_Governance_V1_UsageRecord(record)
        let response = try await call(metadata) { metadata, options in
            try await client.recordUsage(message, metadata: metadata, options: options)
        }
        return UsageReceipt(recorded: response.recorded, costMicros: response.costMicros)
    }

    /// Records several calls with `RecordUsageBatch`: one call and one ledger transaction per 1,000 records.
    ///
    /// `RecordUsageBatch` is idempotent per request id, so a batch retried after a failure does not count twice.
    ///
    /// - Parameter records: What was used, in completion order.
    package func recordUsage(batch records: [UsageRecord]) async throws {
        var start = records.startIndex
        while start < records.endIndex {
            let end = min(start + GovernanceGRPCService.maximumUsageBatch, records.endIndex)
            var message = Sluice_Governance_V1_RecordUsageBatchRequest()
            message.records = records[start..<end].map(Sluice_Governance_V1_UsageRecord.init)
            _ = try await call(metadata(requestID: records[start].requestID)) { metadata, options in
                try await client.recordUsageBatch(message, metadata: metadata, options: options)
            }
            start = end
        }
    }

    /// Creates an API key with the remote service.
    ///
    /// - Parameter request: The tenant name, key name, allowed models and roles.
    /// - Returns: The key's details and its plaintext.
    /// - Throws: ``GovernanceError``.
    package func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey {
        let message = Sluice_Governance_V1_CreateKeyRequest(request)
        let (response, tenantNames) = try await call(metadata(requestID: "")) { metadata, options in
            try await client.createKey(message, metadata: metadata, options: options) { response in
                (try response.message, GovernanceMetadata.tenantNames(in: response.metadata))
            }
        }
        let info = APIKeyInfo(proto: response.key, tenantName: tenantNames.first)
        return CreatedKey(info: info, plaintext: response.plaintextKey)
    }

    /// Lists API keys, revoked ones included, with the remote service.
    ///
    /// - Parameter tenant: A tenant name to filter by, or `nil` for all.
    /// - Returns: The keys, in the server's order.
    /// - Throws: ``GovernanceError``.
    package func listKeys(tenant: String?) async throws -> [APIKeyInfo] {
        var message = Sluice_Governance_V1_ListKeysRequest()
        message.tenantID = tenant ?? ""
        message.includeInactive = true
        message.pageSize = Int32(GovernanceGRPCService.maximumPageSize)
        var keys: [APIKeyInfo] = []
        repeat {
            let request = message
            let (response, tenantNames) = try await call(metadata(requestID: "")) { metadata, options in
                try await client.listKeys(request, metadata: metadata, options: options) { response in
                    (try response.message, GovernanceMetadata.tenantNames(in: response.metadata))
                }
            }
            let names = tenantNames.count == response.keys.count ? tenantNames.map(Optional.some) : nil
            keys += response.keys.enumerated().map { index, key in APIKeyInfo(proto: key, tenantName: names?[index]) }
            message.pageToken = response.nextPageToken
        } while !message.pageToken.isEmpty
        // The service lists newest first; the domain's order is oldest first.
        return keys.reversed()
    }

    /// Revokes a key with the remote service.
    ///
    /// - Parameters:
    ///   - id: The key id.
    ///   - reason: Why, for the audit log.
    /// - Returns: The revoked key.
    /// - Throws: ``GovernanceError`` with `notFound` for an unknown or already revoked key.
    @discardableResult
    package func revokeKey(id: String, reason: String) async throws -> APIKeyInfo {
        var message = Sluice_Governance_V1_RevokeKeyRequest()
        message.id = id
        message.reason = reason
        let (key, tenantNames) = try await call(metadata(requestID: "")) { metadata, options in
            try await client.revokeKey(message, metadata: metadata, options: options) { response in
                (try response.message, GovernanceMetadata.tenantNames(in: response.metadata))
            }
        }
        return APIKeyInfo(proto: key, tenantName: tenantNames.first ?? "")
    }

    /// Aggregates the remote ledger, reading every page.
    ///
    /// - Parameter query: The range, filters and grouping.
    /// - Returns: The rows and their totals.
    /// - Throws: ``GovernanceError``.
    package func queryUsage(_ query: UsageQuery) async throws -> UsageReport {
        var message = Sluice_Governance_V1_QueryUsageRequest(query)
        message.pageSize = Int32(GovernanceGRPCService.maximumPageSize)
        var rows: [UsageRow] = []
        var totals = UsageRow()
        repeat {
            let request = message
            let response = try await call(metadata(requestID: "")) { metadata, options in
                try await client.queryUsage(request, metadata: metadata, options: options)
            }
            rows += response.rows.map(UsageRow.init(proto:))
            totals = UsageRow(proto: response.totals)
            message.pageToken = response.nextPageToken
        } while !message.pageToken.isEmpty
        return UsageReport(rows: rows, totals: totals)
    }

    /// Replaces a policy with the remote service.
    ///
    /// - Parameters:
    ///   - policy: The new policy.
    ///   - scope: What it applies to.
    /// - Returns: The stored policy.
    /// - Throws: ``GovernanceError``.
    @discardableResult
    package func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord {
        var message = Sluice_Governance_V1_SetPolicyRequest()
        message.policy = Sluice_Governance_V1_Policy(policy, scope: scope, updatedAt: nil)
        let request = message
        let response = try await call(metadata(requestID: "")) { metadata, options in
            try await client.setPolicy(request, metadata: metadata, options: options)
        }
        return try PolicyRecord(proto: response)
    }

    /// Reads a policy from the remote service.
    ///
    /// - Parameter scope: What it applies to.
    /// - Returns: The stored policy.
    /// - Throws: ``GovernanceError``.
    package func policy(for scope: Policy.Scope) async throws -> PolicyRecord {
        var message = Sluice_Governance_V1_GetPolicyRequest()
        message.scope = Sluice_Governance_V1_PolicyScope(scope)
        let request = message
        let response = try await call(metadata(requestID: "")) { metadata, options in
            try await client.getPolicy(request, metadata: metadata, options: options)
        }
        return try PolicyRecord(proto: response)
    }

    private func metadata(requestID: String) -> Metadata {
        var metadata: Metadata = [:]
        if let authorization { metadata.addString(authorization, forKey: "authorization") }
        if !requestID.isEmpty { metadata.addString(requestID, forKey: "x-request-id") }
        return metadata
    }

    /// Makes a call with the deadline and maps what it throws to ``GovernanceError`` (cancellation passes through).
    private func call<Result>(
        _ metadata: Metadata,
        _ body: (Metadata, CallOptions) async throws -> Result
    ) async throws -> Result {
        var options = CallOptions.defaults
        options.timeout = timeout
        do {
            return try await body(metadata, options)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw GovernanceError(wireError: error)
        }
    }
}
