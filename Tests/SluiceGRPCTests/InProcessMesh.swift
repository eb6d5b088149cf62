import GRPCCore
import GRPCInProcessTransport
import SluiceFastPath
import SluiceGovernance
import SluiceGovernanceGRPC
import SluiceInference
import SluiceInferenceGRPC
import SluiceProtos

/// Real gRPC servers and clients over `InProcessTransport`, torn down gracefully after each test body.
enum InProcessMesh {
    /// The client type the tests use for inference.
    typealias InferenceClient = InferenceGRPCClient<InProcessTransport.Client>
    /// The client type the tests use for governance.
    typealias GovernanceClient = GovernanceGRPCClient<InProcessTransport.Client>

    /// Serves an inference implementation and runs the body against a client of it, over `InProcessTransport`.
    ///
    /// With `exchange`, the client carries chat calls over `Exchange` streams, opening a new one per
    /// `exchangeAdmission`.
    static func withInference<Result>(
        serving service: any InferenceService,
        serverToken: String? = nil,
        clientToken: String? = nil,
        timeout: Duration = .seconds(30),
        streamTimeout: Duration = .seconds(600),
        exchange: Bool = false,
        exchangeAdmission: Duration = .seconds(60),
        _ body: (InferenceClient) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        return try await withInference(
            client: transport.client,
            server: transport.server,
            serving: service,
            serverToken: serverToken,
            clientToken: clientToken,
            timeout: timeout,
            streamTimeout: streamTimeout,
            exchange: exchange,
            exchangeAdmission: exchangeAdmission,
            body
        )
    }

    /// Serves an inference implementation and runs the body against the generated client, without
    /// ``InferenceGRPCClient``: for messages that client would never send.
    ///
    /// With `exchange` off, the service has no ``InferenceExchangeServer`` plugged in.
    static func withRawInference<Result>(
        serving service: any InferenceService,
        exchange: Bool = true,
        _ body: (Sluice_Inference_V1_InferenceService.Client<InProcessTransport.Client>) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server,
            services: [InferenceGRPCService(service: service, exchange: exchange ? ExchangeStreamServer() : nil)]
        )
        let grpcClient = GRPCClient(transport: transport.client)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { try await grpcClient.runConnections() }
            defer {
                grpcClient.beginGracefulShutdown()
                server.beginGracefulShutdown()
            }
            return try await body(Sluice_Inference_V1_InferenceService.Client(wrapping: grpcClient))
        }
    }

    /// Serves an inference implementation and runs the body against a client of it, over the given transports.
    static func withInference<
        ClientTransport: GRPCCore.ClientTransport,
        ServerTransport: GRPCCore.ServerTransport,
        Result
    >(
        client clientTransport: ClientTransport,
        server serverTransport: ServerTransport,
        serving service: any InferenceService,
        serverToken: String? = nil,
        clientToken: String? = nil,
        timeout: Duration = .seconds(30),
        streamTimeout: Duration = .seconds(600),
        exchange: Bool = false,
        exchangeAdmission: Duration = .seconds(60),
        _ body: (InferenceGRPCClient<ClientTransport>) async throws -> Result
    ) async throws -> Result {
        let server = GRPCServer(
            transport: serverTransport,
            services: [InferenceGRPCService(service: service, exchange: ExchangeStreamServer())],
            interceptors: [InternalTokenInterceptor(token: serverToken)]
        )
        let client = InferenceGRPCClient(
            client: GRPCClient(transport: clientTransport),
            timeout: timeout,
            streamTimeout: streamTimeout,
            authorizationToken: clientToken,
            carrier: exchange ? ExchangeLines(admissionWindow: exchangeAdmission) : nil
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { try await client.run() }
            do {
                let result = try await body(client)
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

    /// Serves a governance implementation and runs the body against a client of it and the raw gRPC client below.
    static func withGovernance<Result>(
        serving service: any GovernanceService,
        serverToken: String? = nil,
        clientToken: String? = nil,
        _ body: (GovernanceClient, GRPCClient<InProcessTransport.Client>) async throws -> Result
    ) async throws -> Result {
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server,
            services: [GovernanceGRPCService(service: service)],
            interceptors: [InternalTokenInterceptor(token: serverToken)]
        )
        let grpcClient = GRPCClient(transport: transport.client)
        let client = GovernanceGRPCClient(client: grpcClient, authorizationToken: clientToken)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { try await client.run() }
            do {
                let result = try await body(client, grpcClient)
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

    /// Calls a method with an empty protobuf message, bypassing the generated code.
    static func rawUnaryCall(
        _ client: GRPCClient<InProcessTransport.Client>,
        service: String,
        method: String,
        metadata: Metadata = [:]
    ) async throws -> [UInt8] {
        try await client.unary(
            request: ClientRequest(message: [], metadata: metadata),
            descriptor: MethodDescriptor(fullyQualifiedService: service, method: method),
            serializer: RawBytesCoder(),
            deserializer: RawBytesCoder(),
            options: .defaults
        ) { response in
            try response.message
        }
    }
}

/// Passes message bytes through unchanged; an empty array is an empty protobuf message.
struct RawBytesCoder: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
