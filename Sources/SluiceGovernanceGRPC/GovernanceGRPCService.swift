package import GRPCCore
import GRPCProtobuf
package import SluiceGRPCSupport
package import SluiceGovernance
import SluiceProtos

/// Serves a ``GovernanceService`` as `sluice.governance.v1.GovernanceService`.
///
/// Only the RPCs the domain implements are registered: `Authorize`, `RecordUsage`, `RecordUsageBatch`, `CreateKey`,
/// `ListKeys`, `RevokeKey`, `QueryUsage`, `SetPolicy` and `GetPolicy`. Every other RPC of the proto gets grpc-swift's own `UNIMPLEMENTED` status, so the service does not
/// conform to the generated service protocols, which would need a handler for each.
///
/// As the proto requires, a denied authorization (`unauthenticated`, `permission_denied`, `model_not_allowed`) is a
/// normal `AuthorizeResponse` with `DECISION_DENIED`; every other domain error is a status through
/// ``GovernanceError``'s `RPCErrorConvertible` conformance. Handlers are cancelled with the RPC.
///
/// ```swift
/// let server = GRPCServer(
///     transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 50062), transportSecurity: .plaintext),
///     services: [GovernanceGRPCService(service: local)],
///     interceptors: [InternalTokenInterceptor(token: token)]
/// )
/// ```
package struct GovernanceGRPCService: RegistrableRPCService {
    private typealias Methods = Sluice_Governance_V1_GovernanceService.Method
    private let service: any GovernanceService
    private let drain: ServerDrain?

    /// Creates the gRPC service.
    ///
    /// - Parameters:
    ///   - service: The governance implementation to serve, normally ``LocalGovernanceService``.
    ///   - drain: The server's drain flag: while it is set, a cancellation signal from the transport is
    ///     the shutdown's quiesce and in-flight calls finish. `nil` treats every signal as a cancellation.
    package init(service: any GovernanceService, drain: ServerDrain? = nil) {
        self.service = service
        self.drain = drain
    }

    /// Registers the nine implemented methods with the server's router.
    ///
    /// - Parameters:
    ///   - router: The router to register with.
    package func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        Self.register(Methods.Authorize.self, with: &router, handler: authorize)
        Self.register(Methods.RecordUsage.self, with: &router, handler: recordUsage)
        Self.register(Methods.RecordUsageBatch.self, with: &router, handler: recordUsageBatch)
        Self.register(Methods.CreateKey.self, with: &router, handler: createKey)
        Self.register(Methods.ListKeys.self, with: &router, handler: listKeys)
        Self.register(Methods.RevokeKey.self, with: &router, handler: revokeKey)
        Self.register(Methods.QueryUsage.self, with: &router, handler: queryUsage)
        Self.register(Methods.SetPolicy.self, with: &router, handler: setPolicy)
        Self.register(Methods.GetPolicy.self, with: &router, handler: getPolicy)
    }

    private func authorize(
        _ request: ServerRequest<Sluice_Governance_V1_AuthorizeRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_AuthorizeResponse> {
        let message = request.message
        guard !message.requestID.isEmpty else {
            throw GovernanceError(.invalidArgument, "An authorization needs a request_id")
        }
        let operation: AuthorizationRequest.Operation
        if let exact = request.metadata[stringValues: GovernanceMetadata.operation].first(where: { _ in true }) {
            operation = AuthorizationRequest.Operation(rawValue: exact)
        } else if let mapped = message.operation.domainValue {
            operation = mapped
        } else {
            throw GovernanceError(.invalidArgument, "The operation is required")
        }
        let authorizationRequest = AuthorizationRequest(
            credential: message.credential,
            operation: operation,
            model: message.model.isEmpty ? nil : message.model,
            requestID: message.requestID,
            route: message.route.isEmpty ? nil : message.route,
            promptTokens: message.estimatedPromptTokens > 0 ? Int(clamping: message.estimatedPromptTokens) : nil,
            maxTokens: message.hasMaxTokens ? Int(clamping: max(0, message.maxTokens)) : nil
        )
        let service = self.service
        do {
            let authorization = try await perform(context) { try await service.authorize(authorizationRequest) }
            return ServerResponse(message: Sluice_Governance_V1_AuthorizeResponse(authorization))
        } catch let error as GovernanceError {
            guard let denial = Sluice_Governance_V1_AuthorizeResponse(denial: error) else { throw error }
            return ServerResponse(message: denial)
        }
    }

    private func recordUsage(
        _ request: ServerRequest<Sluice_Governance_V1_UsageRecord>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_RecordUsageResponse> {
        guard !request.message.requestID.isEmpty, !request.message.tenantID.isEmpty else {
            throw GovernanceError(.invalidArgument, "A usage record needs a request_id and a tenant_id")
        }
        let roles = request.metadata[stringValues: GovernanceMetadata.roles]
            .flatMap { $0.split(separator: ",") }
            .compactMap { Role(rawValue: String($0)) }
        let record = UsageRecord(
            proto: request.message,
            tenantName: GovernanceMetadata.tenantNames(in: request.metadata).first ?? "",
            roles: roles
        )
        let service = self.service
        let receipt = try await perform(context) { try await service.recordUsage(record) }
        var response = Sluice_Governance_V1_RecordUsageResponse()
        response.recorded = receipt.recorded
        response.costMicros = receipt.costMicros
        return ServerResponse(message: response)
    }

    /// The most records one `RecordUsageBatch` call may carry.
    package static let maximumUsageBatch = 1000

    private func recordUsageBatch(
        _ request: ServerRequest<Sluice_Governance_V1_RecordUsageBatchRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_RecordUsageBatchResponse> {
        let records = request.message.records
        guard (1...Self.maximumUsageBatch).contains(records.count) else {
            throw GovernanceError(
                .invalidArgument,
                "A usage batch holds 1 to \(Self.maximumUsageBatch) records, not \(records.count)"
            )
        }
        if let index = records.firstIndex(where: { $0.requestID.isEmpty || $0.tenantID.isEmpty }) {
            throw GovernanceError(.invalidArgument, "Usage record \(index) has no request_id or no tenant_id")
        }
        // The ledger keeps tenant ids; names and roles, which RecordUsage takes from metadata, are not needed here.
        let batch = records.map { UsageRecord(proto: $0, tenantName: "", roles: []) }
        let service = self.service
        try await perform(context) { try await service.recordUsage(batch: batch) }
        var response = Sluice_Governance_V1_RecordUsageBatchResponse()
        response.recorded = Int32(records.count)
        return ServerResponse(message: response)
    }

    private func createKey(
        _ request: ServerRequest<Sluice_Governance_V1_CreateKeyRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_CreateKeyResponse> {
        let creation = try KeyCreationRequest(proto: request.message)
        let service = self.service
        let created = try await perform(context) { try await service.createKey(creation) }
        var response = Sluice_Governance_V1_CreateKeyResponse()
        response.plaintextKey = created.plaintext
        response.key = Sluice_Governance_V1_KeyInfo(created.info)
        var metadata: Metadata = [:]
        GovernanceMetadata.addTenantNames([created.info.tenantName], to: &metadata)
        return ServerResponse(message: response, metadata: metadata)
    }

    private func listKeys(
        _ request: ServerRequest<Sluice_Governance_V1_ListKeysRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_ListKeysResponse> {
        let message = request.message
        let tenant = message.tenantID
        guard (0...Self.maximumPageSize).contains(Int(message.pageSize)) else {
            throw GovernanceError(.invalidArgument, "page_size must be 0 to \(Self.maximumPageSize)")
        }
        let after = try KeyPageToken(message.pageToken)
        let service = self.service
        var keys = try await perform(context) {
            if tenant.isEmpty { return try await service.listKeys(tenant: nil) }
            // The field may hold a tenant name (the domain's filter) or a real tenant id.
            let byName = try await service.listKeys(tenant: tenant)
            return byName.isEmpty ? try await service.listKeys(tenant: nil).filter { $0.tenantID == tenant } : byName
        }
        if !message.includeInactive {
            keys.removeAll { $0.revokedAt != nil }
        }
        // No key belongs to a user yet (CreateKey refuses `user_id`), so a user filter matches none.
        if !message.userID.isEmpty { keys = [] }
        keys = KeyPageToken.newestFirst(keys)
        if let after { keys.removeAll { !after.precedes($0) } }
        let size = message.pageSize == 0 ? Self.defaultPageSize : Int(message.pageSize)
        var response = Sluice_Governance_V1_ListKeysResponse()
        let page = Array(keys.prefix(size))
        response.keys = page.map(Sluice_Governance_V1_KeyInfo.init)
        if keys.count > size, let last = page.last { response.nextPageToken = KeyPageToken(after: last).text }
        var metadata: Metadata = [:]
        GovernanceMetadata.addTenantNames(page.map(\.tenantName), to: &metadata)
        return ServerResponse(message: response, metadata: metadata)
    }

    /// Keys per `ListKeys` page when the request does not say.
    package static let defaultPageSize = 50
    /// The most keys one `ListKeys` page may hold.
    package static let maximumPageSize = 500

    private func revokeKey(
        _ request: ServerRequest<Sluice_Governance_V1_RevokeKeyRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_KeyInfo> {
        let id = request.message.id
        let reason = request.message.reason
        let service = self.service
        let revoked = try await perform(context) { try await service.revokeKey(id: id, reason: reason) }
        var metadata: Metadata = [:]
        GovernanceMetadata.addTenantNames([revoked.tenantName], to: &metadata)
        return ServerResponse(message: Sluice_Governance_V1_KeyInfo(revoked), metadata: metadata)
    }

    private func queryUsage(
        _ request: ServerRequest<Sluice_Governance_V1_QueryUsageRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_QueryUsageResponse> {
        let message = request.message
        guard (0...Self.maximumPageSize).contains(Int(message.pageSize)) else {
            throw GovernanceError(.invalidArgument, "page_size must be 0 to \(Self.maximumPageSize)")
        }
        let query = try UsageQuery(proto: message)
        let offset = try UsagePageToken.offset(message.pageToken)
        let service = self.service
        let report = try await perform(context) { try await service.queryUsage(query) }
        let size = message.pageSize == 0 ? Self.defaultPageSize : Int(message.pageSize)
        var response = Sluice_Governance_V1_QueryUsageResponse()
        response.rows = report.rows.dropFirst(offset).prefix(size).map(Sluice_Governance_V1_UsageRow.init)
        response.totals = Sluice_Governance_V1_UsageRow(report.totals)
        if offset + size < report.rows.count { response.nextPageToken = UsagePageToken.token(offset: offset + size) }
        return ServerResponse(message: response)
    }

    private func setPolicy(
        _ request: ServerRequest<Sluice_Governance_V1_SetPolicyRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_GetPolicyResponse> {
        let scope = try Policy.Scope(proto: request.message.policy.scope)
        let policy = try Policy(proto: request.message.policy)
        let service = self.service
        let record = try await perform(context) { try await service.setPolicy(policy, for: scope) }
        return ServerResponse(message: Sluice_Governance_V1_GetPolicyResponse(record))
    }

    private func getPolicy(
        _ request: ServerRequest<Sluice_Governance_V1_GetPolicyRequest>,
        _ context: ServerContext
    ) async throws -> ServerResponse<Sluice_Governance_V1_GetPolicyResponse> {
        let scope = try Policy.Scope(proto: request.message.scope)
        let service = self.service
        let record = try await perform(context) { try await service.policy(for: scope) }
        return ServerResponse(message: Sluice_Governance_V1_GetPolicyResponse(record))
    }

    /// Registers one unary method with protobuf serialization.
    private static func register<Method: GovernanceUnaryMethod, Transport: ServerTransport>(
        _ method: Method.Type,
        with router: inout RPCRouter<Transport>,
        handler:
            @escaping @Sendable (ServerRequest<Method.Input>, ServerContext) async throws -> ServerResponse<
                Method.Output
            >
    ) {
        router.registerHandler(
            forMethod: Method.descriptor,
            deserializer: ProtobufDeserializer<Method.Input>(),
            serializer: ProtobufSerializer<Method.Output>()
        ) { request, context in
            let response = try await handler(ServerRequest(stream: request), context)
            return StreamingServerResponse(single: response)
        }
    }

    /// Runs a domain call, cancelled with the RPC, and makes sure only ``GovernanceError`` or `RPCError` escapes.
    private func perform<Result: Sendable>(
        _ context: ServerContext,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        do {
            return try await context.cancellingWhenRPCCancelled(drain: drain, operation)
        } catch let error as GovernanceError {
            throw error
        } catch let error as RPCError {
            throw error
        } catch {
            throw GovernanceError(unexpected: error)
        }
    }
}
