import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 over plain TCP to the upstreams a gateway most often sits next to (vLLM, Ollama, an internal proxy),
/// on the caller's event loop.
///
/// A request's connection is taken from those kept alive on the caller's event loop, or opened there, so a request
/// handled on one loop (see `EventLoopTaskExecutor`) never changes threads on the way upstream: the head and body
/// go out in one write, and a non-streamed answer comes back in one continuation resume. async-http-client, which
/// `UpstreamHTTP` uses for TLS upstreams, costs several times more per request on this path (`Docs/BENCHMARKS.md`).
///
/// Errors are async-http-client's (`HTTPClientError.connectTimeout`, `.readTimeout`, `.deadlineExceeded`,
/// `.remoteConnectionClosed`), so `UpstreamHTTP` maps them exactly as before. Bodies are read on demand: a slow
/// reader of a stream slows the upstream read instead of filling memory.
final class PlainHTTPClient: Sendable {
    /// Where requests go.
    struct Endpoint: Hashable, Sendable {
        var host: String
        var port: Int

        /// The `Host` header's value: `host:port`, with an IPv6 address in brackets.
        var hostHeader: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    private struct PoolKey: Hashable {
        var loop: ObjectIdentifier
        var endpoint: Endpoint
    }

    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let readTimeout: TimeAmount
    private let idle = Mutex<[PoolKey: [any Channel]]>([:])
    private let isShutDown = Atomic<Bool>(false)

    /// The most connections kept alive per event loop and endpoint.
    static let maximumIdlePerLoop = 64

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - group: The loops connections are opened on when the caller is on none of them.
    ///   - connectTimeout: How long connecting may take.
    ///   - readTimeout: How long the upstream may send nothing while an answer is awaited.
    init(group: any EventLoopGroup, connectTimeout: TimeAmount, readTimeout: TimeAmount) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }

    /// Closes every kept-alive connection; later requests fail with `HTTPClientError.alreadyShutdown`.
    func shutdown() {
        isShutDown.store(true, ordering: .relaxed)
        let channels = idle.withLock { pools in
            defer { pools.removeAll() }
            return pools.values.flatMap { $0 }
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Sends a request and returns once the response head has arrived.
    ///
    /// - Parameters:
    ///   - endpoint: The upstream.
    ///   - head: The request head; `host` and `content-length` are added.
    ///   - body: The request body.
    ///   - deadline: When the whole exchange, body included, must be over.
    /// - Returns: The exchange, whose head is known and whose body can be read.
    func execute(
        _ endpoint: Endpoint,
        head: HTTPRequestHead,
        body: ByteBuffer,
        deadline: NIODeadline
    ) async throws -> PlainHTTPExchange {
        guard !isShutDown.load(ordering: .relaxed) else { throw HTTPClientError.alreadyShutdown }
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let channel = try await connection(to: endpoint, on: loop)
        var head = head
        head.headers.replaceOrAdd(name: "host", value: endpoint.hostHeader)
        head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        let exchange = PlainHTTPExchange(channel: channel)
        let release: @Sendable (any Channel) -> Void = { [weak self] channel in
            self?.release(channel, to: PoolKey(loop: ObjectIdentifier(loop), endpoint: endpoint))
        }
        let deadlineTask = loop.scheduleTask(deadline: deadline) {
            exchange.fail(HTTPClientError.deadlineExceeded)
        }
        exchange.onFinish { deadlineTask.cancel() }
        let request = (head: head, body: body)
        loop.execute {
            // A pooled connection can have closed since it was taken (its handlers stay a moment longer): writing to it
            // would fail silently and leave the exchange waiting for an answer until its deadline.
            guard channel.isActive,
                let handler = try? channel.pipeline.syncOperations.handler(type: PlainHTTPResponseHandler.self)
            else {
                exchange.fail(HTTPClientError.remoteConnectionClosed)
                return
            }
            handler.begin(exchange, release: release)
            channel.write(HTTPClientRequestPart.head(request.head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            channel.read()
        }
        try await exchange.head()
        return exchange
    }

    // MARK: - Connections

    /// How many pooled connections are still open, over every loop and endpoint (for tests).
    var openIdleConnections: Int {
        idle.withLock { pools in pools.values.reduce(0) { $0 + $1.filter(\.isActive).count } }
    }

    private func connection(to endpoint: Endpoint, on loop: any EventLoop) async throws -> any Channel {
        let key = PoolKey(loop: ObjectIdentifier(loop), endpoint: endpoint)
        while let channel = idle.withLock({ $0[key]?.popLast() }) {
            if channel.isActive { return channel }
        }
        let readTimeout = self.readTimeout
        do {
            return try await ClientBootstrap(group: loop)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.autoRead, value: false)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            PlainHTTPResponseHandler(readTimeout: readTimeout)
                        )
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port)
                .get()
        } catch ChannelError.connectTimeout {
            throw HTTPClientError.connectTimeout
        }
    }

    private func release(_ channel: any Channel, to key: PoolKey) {
        guard channel.isActive, !isShutDown.load(ordering: .relaxed) else {
            channel.close(promise: nil)
            return
        }
        let kept = idle.withLock { pools -> Bool in
            guard pools[key, default: []].count < Self.maximumIdlePerLoop else { return false }
            pools[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }
}
