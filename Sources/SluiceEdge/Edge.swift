package import Hummingbird
package import Logging
import NIOCore
package import Prometheus
import SluiceGovernance
import SluiceInference

/// Builds the HTTP edge: the OpenAI-compatible routes, health and metrics.
///
/// ```swift
/// let app = Edge.buildApplication(configuration: .init(port: 8080), services: services)
/// try await app.runService()
/// ```
package enum Edge {
    /// Builds the router with every edge route, each registered on one ``RequestPipeline``.
    ///
    /// - Parameters:
    ///   - configuration: Edge settings.
    ///   - services: What the edge talks to.
    ///   - screen: The pipeline's content step.
    ///   - optimizations: The faster pieces plugged in, if any.
    /// - Returns: The router, with ``EdgeMiddleware`` (request ids, error shapes, metrics) in front of every route.
    package static func buildRouter(
        configuration: EdgeConfiguration,
        services: EdgeServices,
        screen: any ContentScreen = PassThroughScreen(),
        optimizations: EdgeOptimizations = .none
    ) -> Router<EdgeRequestContext> {
        let router = Router(context: EdgeRequestContext.self)
        router.add(middleware: EdgeMiddleware(logger: services.logger))
        let pipeline = RequestPipeline(services: services, maxBodyBytes: configuration.maxBodyBytes, screen: screen)
        pipeline.register(ChatCompletionsRoute(codec: optimizations.chatCodec, tokens: services.tokens), on: router)
        pipeline.register(ModelsRoute(), on: router)
        pipeline.register(UsageRoute(), on: router)
        OperationsController(readiness: services.readiness, metrics: services.metrics).addRoutes(to: router)
        return router
    }

    /// Builds the application; it is a `Service` to run in the process's service group.
    ///
    /// Connections are served by Hummingbird's `HTTP1Channel`, or by the server ``EdgeOptimizations/server``
    /// provides; request bodies are kept in memory up to ``EdgeConfiguration/maxBodyBytes``.
    ///
    /// - Parameters:
    ///   - configuration: Edge settings.
    ///   - services: What the edge talks to.
    ///   - optimizations: The faster pieces plugged in, if any.
    ///   - eventLoopGroup: The loops connections are served on; each connection is handled on its own loop.
    ///   - onServerRunning: Called with the bound port once the server listens.
    /// - Returns: The application.
    package static func buildApplication(
        configuration: EdgeConfiguration,
        services: EdgeServices,
        optimizations: EdgeOptimizations = .none,
        eventLoopGroup: EventLoopGroupProvider = .singleton,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let readiness = services.readiness
        let responder = buildRouter(configuration: configuration, services: services, optimizations: optimizations)
            .buildResponder()
        return Application(
            responder: responder,
            server: optimizations.server?.server(responder: responder, maxBodyBytes: configuration.maxBodyBytes)
                ?? .http1(),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "sluice"
            ),
            onServerRunning: { channel in
                readiness.set(true)
                await onServerRunning(channel.localAddress?.port ?? configuration.port)
            },
            eventLoopGroupProvider: eventLoopGroup,
            logger: services.logger
        )
    }

    /// Builds the small HTTP listener of a process that serves only gRPC: `/health/*` and `/metrics`.
    ///
    /// - Parameters:
    ///   - configuration: Where to listen (the process's `http` settings).
    ///   - readiness: The readiness flag.
    ///   - metrics: The registry `/metrics` renders.
    ///   - logger: The logger.
    /// - Returns: The application.
    package static func buildOperationsApplication(
        configuration: EdgeConfiguration,
        readiness: Readiness,
        metrics: PrometheusCollectorRegistry,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        OperationsController(readiness: readiness, metrics: metrics).addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "sluice"
            ),
            onServerRunning: { _ in readiness.set(true) },
            logger: logger
        )
    }
}
