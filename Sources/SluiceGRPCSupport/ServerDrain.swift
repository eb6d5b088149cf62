import Synchronization

/// Whether a gRPC server is draining: its process began a graceful shutdown.
///
/// grpc-swift's HTTP/2 transport signals every open RPC's cancellation handle when the server quiesces, the same
/// way it signals a passed deadline or a vanished client. Sluice promises that in-flight calls, streams included,
/// finish during a graceful shutdown, so handlers ignore the handle while the server drains. A client that goes
/// away during the drain still ends its stream: the next write to it fails.
///
/// ```swift
/// let drain = ServerDrain()
/// let server = GRPCServer(transport: transport, services: [InferenceGRPCService(service: local, drain: drain)])
/// // on graceful shutdown:
/// drain.begin()
/// server.beginGracefulShutdown()
/// ```
package final class ServerDrain: Sendable {
    private let draining = Atomic<Bool>(false)

    /// Creates a flag for a server that is not draining.
    package init() {}

    /// Whether the server is draining.
    package var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Marks the server as draining; call before the server's graceful shutdown begins.
    package func begin() { draining.store(true, ordering: .releasing) }
}
