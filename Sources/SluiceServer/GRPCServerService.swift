import GRPCCore
import ServiceLifecycle

/// Runs a `GRPCServer` as a lifecycle `Service`: graceful shutdown stops new calls and lets in-flight ones
/// (streams included) finish.
struct GRPCServerService<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
