import GRPCCore
import ServiceLifecycle
import SluiceGRPCSupport

/// Runs a `GRPCServer` as a lifecycle `Service`: graceful shutdown stops new calls and lets in-flight ones
/// (streams included) finish.
///
/// The drain flag is raised before the server quiesces, so the services' handlers know the transport's
/// cancellation signal that follows is the shutdown's and not a client's.
///
/// With an `executor`, the server's handlers run on that event loop: pass the loop of a one-loop group that the
/// transport (and whatever the handlers call over the network) also uses, and a call never changes threads.
struct GRPCServerService<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>
    let drain: ServerDrain
    var executor: (any TaskExecutor)?

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withTaskExecutorPreference(executor) { try await server.serve() }
        } onGracefulShutdown: {
            drain.begin()
            server.beginGracefulShutdown()
        }
    }
}
