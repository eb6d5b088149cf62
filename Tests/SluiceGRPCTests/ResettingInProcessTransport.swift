import GRPCCore
import GRPCInProcessTransport
import Synchronization

/// `InProcessTransport` plus what HTTP/2 does when a client abandons a call: it resets the stream, and the server
/// cancels the RPC.
///
/// The in-process transport only tells a server handler about cancellation on server shutdown, so without this a test
/// cannot observe that the server side of an abandoned stream is cancelled. The client side tags each stream with an
/// id in its request metadata; when the client's stream ends before a status arrived, the server's cancellation
/// handle for that id is cancelled, as grpc-swift-nio-transport does on `RST_STREAM`.
struct ResettingInProcessTransport {
    let client: Client
    let server: Server

    init() {
        let base = InProcessTransport()
        let resets = StreamResets()
        client = Client(base: base.client, resets: resets)
        server = Server(base: base.server, resets: resets)
    }

    fileprivate static let streamIDKey = "x-test-stream-id"
}

extension ResettingInProcessTransport {
    /// The client half: tags streams and resets those it leaves before their status.
    struct Client: ClientTransport {
        typealias Bytes = [UInt8]

        fileprivate let base: InProcessTransport.Client
        fileprivate let resets: StreamResets

        var retryThrottle: RetryThrottle? { base.retryThrottle }

        func connect() async throws { try await base.connect() }

        func beginGracefulShutdown() { base.beginGracefulShutdown() }

        func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { base.config(forMethod: descriptor) }

        func withStream<T: Sendable>(
            descriptor: MethodDescriptor,
            options: CallOptions,
            _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
        ) async throws -> T {
            let id = resets.makeID()
            let sawStatus = Signal()
            defer {
                if !sawStatus.hasFired { resets.reset(id) }
            }
            return try await base.withStream(descriptor: descriptor, options: options) { stream, context in
                let inbound = stream.inbound.map { part in
                    if case .status = part { sawStatus.fire() }
                    return part
                }
                let tagged = RPCStream(
                    descriptor: stream.descriptor,
                    inbound: RPCAsyncSequence(wrapping: inbound),
                    outbound: RPCWriter.Closable(wrapping: TaggingWriter(base: stream.outbound, id: id))
                )
                return try await closure(tagged, context)
            }
        }
    }

    /// The server half: registers each stream's cancellation handle under the client's tag.
    struct Server: ServerTransport {
        typealias Bytes = [UInt8]

        fileprivate let base: InProcessTransport.Server
        fileprivate let resets: StreamResets

        func listen(
            streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
        ) async throws {
            let resets = self.resets
            try await base.listen { stream, context in
                let handle = context.cancellation
                let inbound = stream.inbound.map { part in
                    if case .metadata(let metadata) = part,
                        let id = metadata[stringValues: ResettingInProcessTransport.streamIDKey].first(where: { _ in
                            true
                        })
                    {
                        resets.register(id, handle)
                    }
                    return part
                }
                let observed = RPCStream(
                    descriptor: stream.descriptor,
                    inbound: RPCAsyncSequence(wrapping: inbound),
                    outbound: stream.outbound
                )
                await streamHandler(observed, context)
            }
        }

        func beginGracefulShutdown() { base.beginGracefulShutdown() }
    }
}

/// Adds the stream id to the request metadata.
private struct TaggingWriter: ClosableRPCWriterProtocol {
    let base: RPCWriter<RPCRequestPart<[UInt8]>>.Closable
    let id: String

    func write(_ element: RPCRequestPart<[UInt8]>) async throws {
        if case .metadata(var metadata) = element {
            metadata.addString(id, forKey: ResettingInProcessTransport.streamIDKey)
            try await base.write(.metadata(metadata))
        } else {
            try await base.write(element)
        }
    }

    func write(contentsOf elements: some Sequence<RPCRequestPart<[UInt8]>>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async { await base.finish() }

    func finish(throwing error: any Error) async { await base.finish(throwing: error) }
}

/// The server's cancellation handles by stream id, and the ids reset before their handle was registered.
private final class StreamResets: Sendable {
    private struct State {
        var nextID = 0
        var handles: [String: ServerContext.RPCCancellationHandle] = [:]
        var reset: Set<String> = []
    }

    private let state = Mutex(State())

    func makeID() -> String {
        state.withLock { state in
            defer { state.nextID += 1 }
            return String(state.nextID)
        }
    }

    func register(_ id: String, _ handle: ServerContext.RPCCancellationHandle) {
        let cancelNow = state.withLock { state in
            state.handles[id] = handle
            return state.reset.contains(id)
        }
        if cancelNow { handle.cancel() }
    }

    func reset(_ id: String) {
        let handle = state.withLock { state in
            state.reset.insert(id)
            return state.handles[id]
        }
        handle?.cancel()
    }
}
