import HummingbirdCore
import Logging
import NIOCore
import SluiceFastPath

/// A server child channel whose connections are each handled on their own event loop.
///
/// Hummingbird handles each connection in a child task of the server's task group, which runs on the cooperative
/// pool: every read, write and upstream response then crosses threads. Wrapping the connection's handling in a task
/// executor preference for the channel's event loop keeps a request on one thread from its first byte to its last,
/// and spreads connections over the loops the way NIO spreads their I/O.
struct EventLoopPinnedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    /// The channel whose handling is pinned.
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor.shared(for: value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with each connection handled on its own event loop (``EventLoopPinnedChannel``), for
    /// `sluice-bench upstream`.
    static var pinnedHTTP1: HTTPServerBuilder {
        .init { responder in
            EventLoopPinnedChannel(base: HTTP1Channel(responder: responder))
        }
    }
}
