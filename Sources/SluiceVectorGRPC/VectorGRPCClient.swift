package import GRPCCore
import ServiceLifecycle
import SluiceProtos
package import SluiceVector

/// A ``VectorService`` that calls a remote `sluice.vector.v1.VectorService`.
///
/// Every call carries the `timeout` deadline (`CallOptions.timeout`) and, when an internal token is configured,
/// `authorization: Bearer <token>`. Errors come back as the ``VectorError`` the server threw, with the same code and
/// message; failing to reach the server, or missing the deadline, is ``VectorError/Code/unavailable``, and any status
/// the contract does not list is ``VectorError/Code/internal``. A write that failed with `unavailable` may still have
/// been applied: the server may have made it durable after the deadline passed.
///
/// The client is a `Service`: add it to the process's `ServiceGroup`, whose graceful shutdown lets in-flight calls
/// finish before the connections close.
///
/// ```swift
/// let grpc = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: 50063),
///                                                      transportSecurity: .plaintext))
/// let vectors = VectorGRPCClient(client: grpc, authorizationToken: token)
/// let group = ServiceGroup(services: [vectors, rag], logger: logger)
/// ```
package struct VectorGRPCClient<Transport: ClientTransport>: VectorService, Service {
    private let grpcClient: GRPCClient<Transport>
    private let client: Sluice_Vector_V1_VectorService.Client<Transport>
    private let timeout: Duration
    private let authorization: String?

    /// Creates a client.
    ///
    /// The client does nothing until ``run()`` runs; calls made before wait for it.
    ///
    /// - Parameters:
    ///   - client: The gRPC client for the vector service's address. ``run()`` runs its connections; do not run
    ///     them elsewhere.
    ///   - timeout: The deadline of each call.
    ///   - authorizationToken: The shared internal token, sent as `authorization: Bearer <token>`; `nil` sends none.
    package init(client: GRPCClient<Transport>, timeout: Duration = .seconds(30), authorizationToken: String? = nil) {
        self.grpcClient = client
        self.client = Sluice_Vector_V1_VectorService.Client(wrapping: client)
        self.timeout = timeout
        self.authorization = authorizationToken.map { "Bearer \($0)" }
    }

    // MARK: - Lifecycle

    /// Runs the connections until graceful shutdown (in-flight calls finish first) or cancellation.
    package func run() async throws {
        try await withGracefulShutdownHandler {
            try await grpcClient.runConnections()
        } onGracefulShutdown: {
            grpcClient.beginGracefulShutdown()
        }
    }

    /// Starts a graceful shutdown without a `ServiceGroup`: as if the group had signalled it to ``run()``.
    package func beginGracefulShutdown() {
        grpcClient.beginGracefulShutdown()
    }

    // MARK: - Collections

    /// Creates a collection on the remote service.
    ///
    /// - Parameter request: What to create.
    /// - Returns: The collection's info and whether it was created.
    /// - Throws: ``VectorError``.
    package func createCollection(
        _ request: CreateCollectionRequest
    ) async throws -> (
        info: CollectionInfo, created: Bool
    ) {
        let message = Sluice_Vector_V1_CreateCollectionRequest(request)
        let response = try await call { metadata, options in
            try await client.createCollection(message, metadata: metadata, options: options)
        }
        return (try CollectionInfo(proto: response.collection), response.created)
    }

    /// Deletes a collection on the remote service.
    ///
    /// - Parameters:
    ///   - name: The collection.
    ///   - ifExists: Succeed (returning `false`) when it does not exist.
    /// - Returns: Whether a collection was deleted.
    /// - Throws: ``VectorError``.
    package func deleteCollection(name: String, ifExists: Bool) async throws -> Bool {
        var message = Sluice_Vector_V1_DeleteCollectionRequest()
        message.name = name
        message.ifExists = ifExists
        let response = try await call { metadata, options in
            try await client.deleteCollection(message, metadata: metadata, options: options)
        }
        return response.deleted
    }

    /// Lists the remote service's collections, sorted by name.
    ///
    /// - Parameter namePrefix: Only names with this prefix; empty for all.
    /// - Returns: Their info.
    /// - Throws: ``VectorError``.
    package func listCollections(namePrefix: String) async throws -> [CollectionInfo] {
        var message = Sluice_Vector_V1_ListCollectionsRequest()
        message.namePrefix = namePrefix
        let response = try await call { metadata, options in
            try await client.listCollections(message, metadata: metadata, options: options)
        }
        return try response.collections.map(CollectionInfo.init(proto:))
    }

    /// A collection's settings and statistics, from the remote service.
    ///
    /// - Parameter name: The collection.
    /// - Returns: Its info.
    /// - Throws: ``VectorError``.
    package func collectionInfo(name: String) async throws -> CollectionInfo {
        var message = Sluice_Vector_V1_GetCollectionInfoRequest()
        message.name = name
        let response = try await call { metadata, options in
            try await client.getCollectionInfo(message, metadata: metadata, options: options)
        }
        return try CollectionInfo(proto: response.collection)
    }

    // MARK: - Points

    /// Inserts or replaces points on the remote service; returns once the write is durable there.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - points: The points, with distinct ids.
    ///   - embeddingVersionTag: When non-empty, must equal the collection's tag.
    /// - Returns: The points written and the write's WAL sequence number.
    /// - Throws: ``VectorError``.
    package func upsert(
        collection: String,
        points: [VectorPoint],
        embeddingVersionTag: String
    ) async throws
        -> WriteResult
    {
        var message = Sluice_Vector_V1_UpsertRequest()
        message.collection = collection
        message.points = points.map(Sluice_Vector_V1_Point.init)
        message.embeddingVersionTag = embeddingVersionTag
        let response = try await call { metadata, options in
            try await client.upsert(message, metadata: metadata, options: options)
        }
        return WriteResult(count: Int(response.upserted), sequence: UInt64(clamping: response.sequence))
    }

    /// Finds the nearest points on the remote service.
    ///
    /// - Parameter query: The query.
    /// - Returns: Results, best first, and the search time inside the service.
    /// - Throws: ``VectorError``.
    package func query(_ query: VectorQuery) async throws -> QueryResult {
        let message = Sluice_Vector_V1_QueryRequest(query)
        let response = try await call { metadata, options in
            try await client.query(message, metadata: metadata, options: options)
        }
        return QueryResult(
            points: try response.points.map(ScoredPoint.init(proto:)),
            tookMicroseconds: Int(response.tookUs)
        )
    }

    /// Fetches points by id from the remote service, in the order asked; missing ids are left out.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - ids: The ids.
    ///   - withPayload: Return payloads.
    ///   - withVectors: Return vectors.
    /// - Returns: The points found.
    /// - Throws: ``VectorError``.
    package func get(
        collection: String,
        ids: [String],
        withPayload: Bool,
        withVectors: Bool
    ) async throws
        -> [VectorPoint]
    {
        var message = Sluice_Vector_V1_GetRequest()
        message.collection = collection
        message.ids = ids
        message.withPayload = withPayload
        message.withVectors = withVectors
        let response = try await call { metadata, options in
            try await client.get(message, metadata: metadata, options: options)
        }
        return try response.points.map { point in
            VectorPoint(id: point.id, vector: point.vector, payload: try PayloadMapping.decodeAnswer(point.payload))
        }
    }

    /// Deletes points on the remote service by id or by filter; returns once the write is durable there.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - selector: Which points.
    /// - Returns: The points deleted and the write's WAL sequence number.
    /// - Throws: ``VectorError``.
    package func delete(collection: String, selector: DeleteSelector) async throws -> WriteResult {
        let message = Sluice_Vector_V1_DeleteRequest(collection: collection, selector: selector)
        let response = try await call { metadata, options in
            try await client.delete(message, metadata: metadata, options: options)
        }
        return WriteResult(count: Int(response.deleted), sequence: UInt64(clamping: response.sequence))
    }

    // MARK: - Calls

    /// Makes a call with the deadline and the token, and maps what it throws to ``VectorError`` (cancellation
    /// passes through).
    private func call<Result>(_ body: (Metadata, CallOptions) async throws -> Result) async throws -> Result {
        var metadata: Metadata = [:]
        if let authorization { metadata.addString(authorization, forKey: "authorization") }
        var options = CallOptions.defaults
        options.timeout = timeout
        do {
            return try await body(metadata, options)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw VectorError(wireError: error)
        }
    }
}
