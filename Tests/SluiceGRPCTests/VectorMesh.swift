import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import SluiceGovernanceGRPC
import SluiceProtos
import SluiceVector
import SluiceVectorGRPC

/// A vector gRPC server and client over `InProcessTransport`, torn down gracefully after each test body.
enum VectorMesh {
    /// The client type the tests use.
    typealias Client = VectorGRPCClient<InProcessTransport.Client>
    /// The generated client, for requests the domain cannot express.
    typealias RawClient = Sluice_Vector_V1_VectorService.Client<InProcessTransport.Client>

    /// Serves a vector implementation and runs the body against a domain client and a generated client of it.
    static func withVector<Result>(
        serving service: any VectorService,
        serverToken: String? = nil,
        clientToken: String? = nil,
        timeout: Duration = .seconds(10),
        _ body: (Client, RawClient) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server,
            services: [
                VectorGRPCService(
                    service: service,
                    logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
                )
            ],
            interceptors: [InternalTokenInterceptor(token: serverToken)]
        )
        let grpcClient = GRPCClient(transport: transport.client)
        let client = VectorGRPCClient(client: grpcClient, timeout: timeout, authorizationToken: clientToken)
        let raw = Sluice_Vector_V1_VectorService.Client(wrapping: grpcClient)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { try await client.run() }
            do {
                let result = try await body(client, raw)
                client.beginGracefulShutdown()
                server.beginGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
                client.beginGracefulShutdown()
                server.beginGracefulShutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Opens a local vector service on a fresh temporary data directory (collections loaded), runs the body, and
    /// removes the directory.
    static func withLocalService<Result>(
        configuration: VectorConfiguration = VectorConfiguration(),
        load: Bool = true,
        _ body: (LocalVectorService, URL) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-vector-grpc-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try LocalVectorService.open(
            dataDirectory: directory,
            configuration: configuration,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        if load { await service.store.loadAll() }
        let result = try await body(service, directory)
        await service.store.close()
        return result
    }
}

/// A vector service that fails every call with one error, to check how each error crosses the wire; with a delay, it
/// first waits (cancellably), to check deadlines.
struct FailingVectorService: VectorService {
    let error: any Error
    var delay: Duration = .zero

    private func fail() async throws -> Never {
        if delay > .zero { try await Task.sleep(for: delay) }
        throw error
    }

    func createCollection(_ request: CreateCollectionRequest) async throws -> (info: CollectionInfo, created: Bool) {
        try await fail()
    }
    func deleteCollection(name: String, ifExists: Bool) async throws -> Bool { try await fail() }
    func listCollections(namePrefix: String) async throws -> [CollectionInfo] { try await fail() }
    func collectionInfo(name: String) async throws -> CollectionInfo { try await fail() }
    func upsert(collection: String, points: [VectorPoint], embeddingVersionTag: String) async throws -> WriteResult {
        try await fail()
    }
    func query(_ query: VectorQuery) async throws -> QueryResult { try await fail() }
    func get(collection: String, ids: [String], withPayload: Bool, withVectors: Bool) async throws -> [VectorPoint] {
        try await fail()
    }
    func delete(collection: String, selector: DeleteSelector) async throws -> WriteResult { try await fail() }
}
