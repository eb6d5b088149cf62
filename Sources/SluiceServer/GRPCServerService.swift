import GRPCCore
import ServiceLifecycle
import SluiceGRPCSupport

/// Runs a `GRPCServer` as a lifecycle `Service`: graceful shutdown stops new calls and lets in-flight ones
/// (streams included) finish.
///
/// The drain flag is raised before the server quiesces, so the services' handlers know the transport's
/// cancellation signal that follows is the shutdown's and not a client's.
struct GRPCServerService<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>
    let drain: ServerDrain

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            drain.begin()
            server.beginGracefulShutdown()
        }
    }
}
