import GRPCCore
package import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceEdge
import SluiceFastPath
import SluiceGRPCSupport
import SluiceGovernance
import SluiceGovernanceGRPC
import SluiceInference
import SluiceInferenceGRPC
import SluiceVector
import SluiceVectorGRPC

/// The split-mode pieces: gRPC servers for a service served alone, gRPC clients for the edge.
///
/// Every process, split or not, also answers `/health/*` and `/metrics` on its `http` address; give each process of
/// a split deployment on one host its own `SLUICE_HTTP_PORT`.
extension SluiceRuntime {
    /// The inference service over gRPC, plus its health and metrics listener.
    func makeInferenceServer(_ inference: LocalInferenceService) throws -> [any Service] {
        let server = try makeGRPCServer(
            at: configuration.services.inference,
            name: "inference",
            eventLoopGroup: serviceLoop
        ) { drain, executor in
            InferenceGRPCService(
                service: inference,
                drain: drain,
                executor: executor,
                exchange: configuration.performance.fastPath.exchangeServer
            )
        }
        return [server] + operationsListener()
    }

    /// The governance service over gRPC, plus its health and metrics listener.
    func makeGovernanceServer(_ governance: LocalGovernanceService) throws -> [any Service] {
        let server = try makeGRPCServer(
            at: configuration.services.governance,
            name: "governance",
            eventLoopGroup: serviceLoop
        ) { drain, _ in
            GovernanceGRPCService(service: governance, drain: drain)
        }
        return [server] + operationsListener()
    }

    /// The vector service over gRPC at `services.vector.address`, without a health listener (mode `vector` adds
    /// one; mode `all` has the edge's).
    func makeVectorServer(_ vectors: LocalVectorService) throws -> any Service {
        let logger = self.logger
        return try makeGRPCServer(at: configuration.services.vector, name: "vector") { drain, _ in
            VectorGRPCService(service: vectors, drain: drain, logger: logger)
        }
    }

    /// The single event loop a service served alone runs its gRPC server (and, for inference, its upstream clients)
    /// on, so that a call never changes threads; see ``GRPCServerService``.
    static let serviceEventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// ``serviceEventLoopGroup`` when `performance.event_loop_executors` is on; otherwise `nil`: NIO's shared group
    /// and Swift's global executor. Its tasks are pinned to the loop by `FastPath.executor(for:)`.
    var serviceLoop: MultiThreadedEventLoopGroup? {
        configuration.performance.eventLoopExecutors ? Self.serviceEventLoopGroup : nil
    }

    private func makeGRPCServer(
        at endpoint: SluiceConfiguration.Endpoint,
        name: String,
        eventLoopGroup: MultiThreadedEventLoopGroup? = nil,
        service: (ServerDrain, (any TaskExecutor)?) -> any RegistrableRPCService
    ) throws -> any Service {
        let drain = ServerDrain()
        let fastPath = configuration.performance.fastPath
        let executor = eventLoopGroup.flatMap { fastPath.executor(for: $0.next()) }
        let address = try bindAddress(endpoint, name: "services.\(name).address")
        let security = serverSecurity()
        let config = serverTransportConfig()
        let server = GRPCServer(
            transport: eventLoopGroup.map {
                .http2NIOPosix(address: address, transportSecurity: security, config: config, eventLoopGroup: $0)
            } ?? .http2NIOPosix(address: address, transportSecurity: security, config: config),
            services: [service(drain, executor)],
            interceptors: interceptors()
        )
        logger.info("\(name) gRPC listening", metadata: ["address": "\(endpoint.address)"])
        return GRPCServerService(
            server: server,
            drain: drain,
            executor: executor
        )
    }

    /// gRPC clients of inference and governance for an edge served alone; the clients are services to run.
    ///
    /// - Parameter eventLoopGroup: A one-loop group the clients' connections (and their streams' tasks) run on, or
    ///   `nil` for the shared group.
    func makeRemoteClients(
        eventLoopGroup: MultiThreadedEventLoopGroup? = nil
    ) throws -> (any InferenceService, any GovernanceService, [any Service]) {
        let token = internalToken
        let group: any EventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let fastPath = configuration.performance.fastPath
        let executor = eventLoopGroup.flatMap { fastPath.executor(for: $0.next()) }
        let inference = InferenceGRPCClient(
            client: GRPCClient(
                transport: try clientTransport(
                    configuration.services.inference,
                    name: "services.inference.address",
                    group
                )
            ),
            timeout: .milliseconds(configuration.grpc.defaultTimeoutMs),
            streamTimeout: .milliseconds(configuration.grpc.streamTimeoutMs),
            authorizationToken: token,
            executor: executor,
            carrier: fastPath.inferenceCarrier()
        )
        let governance = GovernanceGRPCClient(
            client: GRPCClient(
                transport: try clientTransport(
                    configuration.services.governance,
                    name: "services.governance.address",
                    group
                )
            ),
            timeout: .milliseconds(configuration.grpc.defaultTimeoutMs),
            authorizationToken: token,
            executor: executor
        )
        return (inference, governance, [inference, governance])
    }

    // MARK: - Transport settings

    private var internalToken: String? {
        configuration.grpc.internalTokenEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
    }

    private func interceptors() -> [any ServerInterceptor] {
        internalToken.map { [InternalTokenInterceptor(token: $0)] } ?? []
    }

    private func bindAddress(
        _ endpoint: SluiceConfiguration.Endpoint,
        name: String
    ) throws -> GRPCNIOTransportHTTP2.SocketAddress {
        switch endpoint.location {
        case .tcp(let host, let port):
            return host.contains(":")
                ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        case .unix(let path):
            // The transport replaces a socket file left at the path, which would also take the path from a
            // process still serving there: refuse that, as a TCP port in use is refused.
            if let problem = UnixSocketPath.bindProblem(path) {
                throw SluiceConfiguration.Invalid(problems: ["\(name) '\(endpoint.address)': \(problem)"])
            }
            return .unixDomainSocket(path: path)
        case nil:
            throw SluiceConfiguration.Invalid(problems: endpoint.problem(key: name).map { [$0] } ?? [])
        }
    }

    private func serverSecurity() -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls = configuration.grpc.tls, let cert = tls.certPath, let key = tls.keyPath else {
            return .plaintext
        }
        return .tls(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem))
    }

    private func clientTransport(
        _ endpoint: SluiceConfiguration.Endpoint,
        name: String,
        _ eventLoopGroup: any EventLoopGroup
    ) throws -> HTTP2ClientTransport.Posix {
        guard let location = endpoint.location else {
            throw SluiceConfiguration.Invalid(problems: endpoint.problem(key: name).map { [$0] } ?? [])
        }
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let tls = configuration.grpc.tls {
            security = .tls { config in
                if let ca = tls.caPath { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            }
        } else {
            security = .plaintext
        }
        // An IP literal cannot be a TLS server name (SNI), so it is dialled as an address: the certificate chain is
        // verified against `ca_path`, without a name check. A host name is resolved and checked against the
        // certificate as well. A Unix socket, like an IP literal, has no name to check.
        let target: any ResolvableTarget
        switch location {
        case .unix(let path):
            target = .unixDomainSocket(path: path)
        case .tcp(let host, let port) where host.contains(":"):
            target = .ipv6(address: host, port: port)
        case .tcp(let host, let port)
        where host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy({ UInt8($0) != nil }):
            target = .ipv4(address: host, port: port)
        case .tcp(let host, let port):
            target = .dns(host: host, port: port)
        }
        return try .http2NIOPosix(
            target: target,
            transportSecurity: security,
            config: clientTransportConfig(),
            eventLoopGroup: eventLoopGroup
        )
    }

    /// The transport settings of Sluice's gRPC servers: grpc-swift-nio-transport's defaults, with flush coalescing
    /// as `grpc.flush_delay_us` says.
    package func serverTransportConfig() -> HTTP2ServerTransport.Posix.Config {
        Self.serverTransportConfig(flushDelayUs: configuration.grpc.flushDelayUs)
    }

    /// The transport settings of Sluice's gRPC clients: grpc-swift-nio-transport's defaults, with flush coalescing
    /// as `grpc.flush_delay_us` says.
    package func clientTransportConfig() -> HTTP2ClientTransport.Posix.Config {
        Self.clientTransportConfig(flushDelayUs: configuration.grpc.flushDelayUs)
    }

    /// grpc-swift-nio-transport's default server settings, with flush coalescing for `delay` microseconds (0: off).
    package static func serverTransportConfig(flushDelayUs delay: Int) -> HTTP2ServerTransport.Posix.Config {
        .defaults { config in
            config.connection.flushCoalescing =
                delay > 0 ? .init(maxFlushDelay: .microseconds(delay), maxBytes: flushCoalescingBytes) : nil
        }
    }

    /// grpc-swift-nio-transport's default client settings, with flush coalescing for `delay` microseconds (0: off).
    package static func clientTransportConfig(flushDelayUs delay: Int) -> HTTP2ClientTransport.Posix.Config {
        .defaults { config in
            config.connection.flushCoalescing =
                delay > 0 ? .init(maxFlushDelay: .microseconds(delay), maxBytes: flushCoalescingBytes) : nil
        }
    }

    /// Coalesced frames are flushed once this many bytes wait, whatever the delay (the transport's default).
    package static let flushCoalescingBytes = 64 * 1024

    /// `/health/*` and `/metrics` on the `http` address, for a process without the edge.
    func operationsListener(readiness: Readiness = Readiness()) -> [any Service] {
        let app = Edge.buildOperationsApplication(
            configuration: configuration.http,
            readiness: readiness,
            metrics: Telemetry.registry,
            logger: logger
        )
        return [app, ReadinessGate(readiness: readiness)]
    }
}
