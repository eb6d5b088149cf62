import AsyncHTTPClient
package import Foundation
import Hummingbird
package import Logging
import NIOCore
package import ServiceLifecycle
import SluiceEdge
import SluiceFastPath
import SluiceGovernance
import SluiceInference
import SluiceProviders
import SluiceTokenizer
import SluiceVector
import UnixSignals

/// Builds and runs the services of one `sluice serve` process.
///
/// ```swift
/// let configuration = try SluiceConfiguration.load(path: nil)
/// try await SluiceRuntime(configuration: configuration, logger: logger).run(mode: .all)
/// ```
package struct SluiceRuntime: Sendable {
    /// The configuration.
    package var configuration: SluiceConfiguration
    /// The environment provider keys and tokens are read from.
    package var environment: [String: String]
    /// The root logger.
    package var logger: Logger

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - configuration: The configuration.
    ///   - environment: The environment.
    ///   - logger: The root logger.
    package init(
        configuration: SluiceConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) {
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
    }

    /// The data directory as a URL.
    package var dataDirectory: URL {
        URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
    }

    /// Runs the services of a mode until SIGTERM or SIGINT, then shuts them down gracefully.
    ///
    /// - Parameters:
    ///   - mode: Which services to run.
    ///   - onHTTPServerRunning: Called with the bound HTTP port once the edge listens (modes `all`, `edge`).
    package func run(
        mode: ServeMode,
        onHTTPServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let services = try await makeServices(mode: mode, onHTTPServerRunning: onHTTPServerRunning)
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }

    /// Builds the services of a mode, in start order (they stop in reverse).
    ///
    /// - Parameters:
    ///   - mode: Which services to run.
    ///   - onHTTPServerRunning: Called with the bound HTTP port once the edge listens.
    /// - Returns: The services.
    package func makeServices(
        mode: ServeMode,
        onHTTPServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> [any Service] {
        switch mode {
        case .all:
            var services: [any Service] = []
            let governance = try await makeGovernance()
            // Requests reach inference on their connection's event loop only with the event-loop channel.
            let tokens = PromptTokenCounter(cl100k: loadTokenizer())
            let (inference, clients) = makeInference(
                callersOnEventLoop: configuration.performance.eventLoopChannel,
                tokens: tokens
            )
            let (vectors, vectorStore) = try makeVector()
            services.append(ShutdownHook { for client in clients { try? await client.shutdown() } })
            // The store is listed before its gRPC server, so it closes (final snapshots) after the server drained.
            services += [vectorStore, try makeVectorServer(vectors)]
            services += makeEdge(
                inference: inference,
                governance: governance,
                tokens: tokens,
                onHTTPServerRunning: onHTTPServerRunning
            )
            return services
        case .inference:
            // Served alone, inference runs on one event loop shared by its gRPC server and its upstream clients:
            // a call and its upstream request then stay on one thread (Docs/BENCHMARKS.md).
            let (inference, clients) = makeInference(
                eventLoopGroup: serviceLoop ?? HTTPClient.defaultEventLoopGroup,
                callersOnEventLoop: serviceLoop != nil
            )
            return [ShutdownHook { for client in clients { try? await client.shutdown() } }]
                + (try makeInferenceServer(inference))
        case .governance:
            return try makeGovernanceServer(try await makeGovernance())
        case .vector:
            // Not ready until the collections have loaded: until then most calls would answer UNAVAILABLE.
            let readiness = Readiness()
            readiness.hold()
            let (vectors, vectorStore) = try makeVector(onLoaded: { readiness.release() })
            return [vectorStore, try makeVectorServer(vectors)] + operationsListener(readiness: readiness)
        case .edge:
            // Served alone, the edge serves HTTP and calls the services on one event loop, so that a request and the
            // gRPC calls it makes stay on one thread (Docs/BENCHMARKS.md).
            let loop = serviceLoop
            let (inferenceClient, governanceClient, clientServices) = try makeRemoteClients(eventLoopGroup: loop)
            return clientServices
                + makeEdge(
                    inference: inferenceClient,
                    governance: governanceClient,
                    tokens: PromptTokenCounter(cl100k: loadTokenizer()),
                    eventLoopGroup: loop,
                    onHTTPServerRunning: onHTTPServerRunning
                )
        }
    }

    // MARK: - Pieces

    /// Opens governance and, on a fresh data directory, creates and prints the admin key once.
    func makeGovernance() async throws -> LocalGovernanceService {
        let store = try configuration.openGovernanceStore()
        let governance = LocalGovernanceService(
            store: store,
            logger: logger,
            prices: try configuration.priceBook(),
            quotas: try configuration.makeQuotaStore(logger: logger),
            settings: configuration.quotaSettings
        )
        if try await !governance.hasKeys() {
            let created = try await governance.createKey(
                KeyCreationRequest(tenant: "admin", name: "bootstrap admin", allowedModels: nil, roles: [.admin])
            )
            // Printed to stdout once, never logged: the key exists nowhere else in plaintext.
            FileHandle.standardOutput.write(Data("Admin API key (shown once): \(created.plaintext)\n".utf8))
        }
        return governance
    }

    /// Opens the vector store under the data directory, and the service that loads, snapshots and closes it.
    ///
    /// - Parameter onLoaded: Called once the collections have loaded.
    func makeVector(onLoaded: @escaping @Sendable () -> Void = {}) throws -> (LocalVectorService, any Service) {
        let vectors = try LocalVectorService.open(
            dataDirectory: dataDirectory,
            configuration: configuration.vector,
            logger: logger
        )
        let store = VectorStoreService(
            store: vectors.store,
            snapshotInterval: .seconds(configuration.vector.snapshotIntervalSeconds),
            onLoaded: onLoaded
        )
        return (vectors, store)
    }

    /// Builds the in-process inference service and the HTTP clients it owns.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: Where the upstream clients' connections live.
    ///   - callersOnEventLoop: Whether calls arrive on an event loop of their own; see
    ///     `FastPath.upstreamTransport(callersOnEventLoop:)`.
    ///   - tokens: The token counter; by default one over the installed cl100k ranks.
    func makeInference(
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        callersOnEventLoop: Bool,
        tokens: PromptTokenCounter? = nil
    ) -> (LocalInferenceService, [UpstreamHTTP]) {
        let tokens = tokens ?? PromptTokenCounter(cl100k: loadTokenizer())
        let fastPath = configuration.performance.fastPath
        let factory = ProviderFactory(
            environment: environment,
            tokens: tokens,
            logger: logger,
            eventLoopGroup: eventLoopGroup,
            openAICodec: fastPath.openAIWireCodec,
            transport: fastPath.upstreamTransport(callersOnEventLoop: callersOnEventLoop)
        )
        let (providers, clients) = factory.makeProviders(configuration.inference.effectiveProviders)
        let service = LocalInferenceService(
            configuration: configuration.inference,
            providers: providers,
            tokens: tokens,
            logger: logger
        )
        return (service, clients)
    }

    private func loadTokenizer() -> BPEEncoding? {
        do {
            return try TokenizerStore.cl100k(dataDirectory: dataDirectory)
        } catch {
            logger.warning("cl100k_base is not installed; token counts are estimated", metadata: ["reason": "\(error)"])
            return nil
        }
    }

    private func makeEdge(
        inference: any InferenceService,
        governance: any GovernanceService,
        tokens: PromptTokenCounter,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onHTTPServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> [any Service] {
        let recorder = UsageRecorder(
            governance: governance,
            spoolDirectory: dataDirectory.appendingPathComponent("usage-spool"),
            logger: logger,
            admissionLimit: configuration.usage.admissionLimit
        )
        let readiness = Readiness()
        let services = EdgeServices(
            inference: inference,
            governance: governance,
            usage: recorder,
            metrics: Telemetry.registry,
            readiness: readiness,
            logger: logger,
            tokens: tokens
        )
        let app = Edge.buildApplication(
            configuration: configuration.http,
            services: services,
            optimizations: configuration.performance.fastPath.edge,
            eventLoopGroup: eventLoopGroup.map { .shared($0) } ?? .singleton
        ) { port in
            logger.info("edge listening", metadata: ["host": "\(configuration.http.host)", "port": "\(port)"])
            await onHTTPServerRunning(port)
        }
        return [recorder, app, ReadinessGate(readiness: readiness)]
    }
}

/// Turns readiness off as soon as graceful shutdown begins, so load balancers stop sending new requests.
///
/// Listed after the HTTP server, it is told of the shutdown before the server drains.
struct ReadinessGate: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.set(false)
    }
}
