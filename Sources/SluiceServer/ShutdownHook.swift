import ServiceLifecycle

/// A service that does nothing until graceful shutdown, then runs a closing action.
///
/// Listed before the services that use a resource, it closes the resource after they have stopped (a service
/// group shuts down in reverse order).
struct ShutdownHook: Service {
    let action: @Sendable () async throws -> Void

    func run() async throws {
        try? await gracefulShutdown()
        try await action()
    }
}
