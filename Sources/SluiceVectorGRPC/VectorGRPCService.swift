package import GRPCCore
package import Logging
package import SluiceGRPCSupport
package import SluiceProtos
package import SluiceVector

/// Serves a ``VectorService`` as `sluice.vector.v1.VectorService`.
///
/// Every RPC of the proto is implemented. Requests are mapped to the domain, which validates them; what the domain
/// cannot represent (`METRIC_UNSPECIFIED`, a payload value, condition or delete selector with no case set) is
/// `INVALID_ARGUMENT` here. Domain errors leave as statuses through ``VectorError``'s `RPCErrorConvertible`
/// conformance, with the exact domain code in `sluice-error-code` trailing metadata; any other failure is logged and
/// answered `INTERNAL` without its details. Each handler runs the domain call so that gRPC's cancellation (deadline,
/// client gone) ends the RPC; a write already handed to the collection's write queue still completes, it is just not
/// acknowledged.
///
/// ```swift
/// let vectors = try LocalVectorService.open(dataDirectory: dataDirectory, logger: logger)
/// let server = GRPCServer(
///     transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 50063), transportSecurity: .plaintext),
///     services: [VectorGRPCService(service: vectors, logger: logger)],
///     interceptors: [InternalTokenInterceptor(token: token)]
/// )
/// ```
package struct VectorGRPCService: Sluice_Vector_V1_VectorService.SimpleServiceProtocol {
    private let service: any VectorService
    private let drain: ServerDrain?
    private let logger: Logger

    /// Creates the gRPC service.
    ///
    /// - Parameters:
    ///   - service: The vector implementation to serve, normally ``LocalVectorService``.
    ///   - drain: The server's drain flag: while it is set, a cancellation signal from the transport is the
    ///     shutdown's quiesce and in-flight calls finish. `nil` treats every signal as a cancellation.
    ///   - logger: Where unexpected failures are logged (callers only see `INTERNAL`).
    package init(service: any VectorService, drain: ServerDrain? = nil, logger: Logger = Logger(label: "sluice.vector"))
    {
        self.service = service
        self.drain = drain
        self.logger = logger
    }

    // MARK: - Collections

    /// Answers `CreateCollection` with ``VectorService/createCollection(_:)``.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func createCollection(
        request: Sluice_Vector_V1_CreateCollectionRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_CreateCollectionResponse {
        let creation = try perform { try CreateCollectionRequest(proto: request) }
        let service = self.service
        let (info, created) = try await perform(context) { try await service.createCollection(creation) }
        var response = Sluice_Vector_V1_CreateCollectionResponse()
        response.collection = Sluice_Vector_V1_CollectionInfo(info)
        response.created = created
        return response
    }

    /// Answers `DeleteCollection` with ``VectorService/deleteCollection(name:ifExists:)``.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func deleteCollection(
        request: Sluice_Vector_V1_DeleteCollectionRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_DeleteCollectionResponse {
        let service = self.service
        let deleted = try await perform(context) {
            try await service.deleteCollection(name: request.name, ifExists: request.ifExists)
        }
        var response = Sluice_Vector_V1_DeleteCollectionResponse()
        response.deleted = deleted
        return response
    }

    /// Answers `ListCollections` with ``VectorService/listCollections(namePrefix:)``, sorted by name.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func listCollections(
        request: Sluice_Vector_V1_ListCollectionsRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_ListCollectionsResponse {
        let service = self.service
        let infos = try await perform(context) { try await service.listCollections(namePrefix: request.namePrefix) }
        var response = Sluice_Vector_V1_ListCollectionsResponse()
        response.collections = infos.map(Sluice_Vector_V1_CollectionInfo.init)
        return response
    }

    /// Answers `GetCollectionInfo` with ``VectorService/collectionInfo(name:)``; a collection still loading answers
    /// with `state` `LOADING`.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func getCollectionInfo(
        request: Sluice_Vector_V1_GetCollectionInfoRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_GetCollectionInfoResponse {
        let service = self.service
        let info = try await perform(context) { try await service.collectionInfo(name: request.name) }
        var response = Sluice_Vector_V1_GetCollectionInfoResponse()
        response.collection = Sluice_Vector_V1_CollectionInfo(info)
        return response
    }

    // MARK: - Points

    /// Answers `Upsert` with ``VectorService/upsert(collection:points:embeddingVersionTag:)``, once the write is
    /// durable.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func upsert(
        request: Sluice_Vector_V1_UpsertRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_UpsertResponse {
        let points = try perform {
            try request.points.enumerated().map { index, point in try VectorPoint(proto: point, at: "points[\(index)]")
            }
        }
        let service = self.service
        let written = try await perform(context) {
            try await service.upsert(
                collection: request.collection,
                points: points,
                embeddingVersionTag: request.embeddingVersionTag
            )
        }
        var response = Sluice_Vector_V1_UpsertResponse()
        response.upserted = Int64(written.count)
        response.sequence = Int64(clamping: written.sequence)
        return response
    }

    /// Answers `Query` with ``VectorService/query(_:)``: results best first.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func query(
        request: Sluice_Vector_V1_QueryRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_QueryResponse {
        let query = try perform { try VectorQuery(proto: request) }
        let service = self.service
        let result = try await perform(context) { try await service.query(query) }
        var response = Sluice_Vector_V1_QueryResponse()
        response.points = result.points.map(Sluice_Vector_V1_ScoredPoint.init)
        response.tookUs = Int64(result.tookMicroseconds)
        return response
    }

    /// Answers `Get` with ``VectorService/get(collection:ids:withPayload:withVectors:)``, in the order asked.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func get(
        request: Sluice_Vector_V1_GetRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_GetResponse {
        let service = self.service
        let points = try await perform(context) {
            try await service.get(
                collection: request.collection,
                ids: request.ids,
                withPayload: request.withPayload,
                withVectors: request.withVectors
            )
        }
        var response = Sluice_Vector_V1_GetResponse()
        response.points = points.map(Sluice_Vector_V1_Point.init)
        return response
    }

    /// Answers `Delete` with ``VectorService/delete(collection:selector:)``, once the write is durable.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func delete(
        request: Sluice_Vector_V1_DeleteRequest,
        context: ServerContext
    ) async throws -> Sluice_Vector_V1_DeleteResponse {
        let selector = try perform { try DeleteSelector(proto: request) }
        let service = self.service
        let deleted = try await perform(context) {
            try await service.delete(collection: request.collection, selector: selector)
        }
        var response = Sluice_Vector_V1_DeleteResponse()
        response.deleted = Int64(deleted.count)
        response.sequence = Int64(clamping: deleted.sequence)
        return response
    }

    // MARK: - Errors and cancellation

    /// Runs a request mapping and makes sure only ``VectorError`` escapes.
    private func perform<Result>(_ mapping: () throws -> Result) throws -> Result {
        do {
            return try mapping()
        } catch let error as VectorError {
            throw error
        } catch {
            throw unexpected(error)
        }
    }

    /// Runs a domain call, cancelled with the RPC, and makes sure only ``VectorError`` or `RPCError` escapes.
    private func perform<Result: Sendable>(
        _ context: ServerContext,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        do {
            return try await context.cancellingWhenRPCCancelled(drain: drain, operation)
        } catch let error as VectorError {
            throw error
        } catch let error as RPCError {
            throw error
        } catch is CancellationError {
            throw RPCError(code: .cancelled, message: "The call was cancelled")
        } catch {
            throw unexpected(error)
        }
    }

    private func unexpected(_ error: any Error) -> VectorError {
        logger.error("vector request failed unexpectedly", metadata: ["error": "\(error)"])
        return VectorError(.internal, "The vector service failed unexpectedly")
    }
}
