import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix

extension BenchCommand {
    /// A bare SwiftNIO HTTP/1.1 forwarding proxy: the floor for any gateway built on SwiftNIO on this machine.
    ///
    /// Each client connection gets one upstream connection on the same event loop; request parts are forwarded as
    /// they are decoded and response parts as they arrive (flushed per part, so streams pass through). No routing,
    /// no JSON, no Swift concurrency: `scripts/bench.sh` measures it next to nginx and Sluice, so Sluice's added
    /// latency can be split into what the NIO hop costs and what Sluice's own stack adds.
    struct Proxy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a bare SwiftNIO HTTP/1.1 forwarding proxy to one upstream (a benchmark reference)."
        )

        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 9901
        @Option(help: "The upstream's host.") var upstreamHost = "127.0.0.1"
        @Option(help: "The upstream's port.") var upstreamPort = 9900

        func run() async throws {
            let target = (host: upstreamHost, port: upstreamPort)
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(
                            ForwardingHandler(upstreamHost: target.host, upstreamPort: target.port)
                        )
                    }
                }
                .bind(host: host, port: port)
                .get()
            try await channel.closeFuture.get()
        }
    }
}

/// Forwards one client connection's requests to its own upstream connection.
private final class ForwardingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let upstreamHost: String
    private let upstreamPort: Int
    private var upstream: (any Channel)?
    private var connecting = false
    private var pending: [HTTPClientRequestPart] = []

    init(upstreamHost: String, upstreamPort: Int) {
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending.append(
                .head(HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: head.headers))
            )
        case .body(let body):
            pending.append(.body(.byteBuffer(body)))
        case .end:
            pending.append(.end(nil))
            forward(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func forward(context: ChannelHandlerContext) {
        if let upstream {
            for part in pending { upstream.write(part, promise: nil) }
            upstream.flush()
            pending.removeAll(keepingCapacity: true)
            return
        }
        guard !connecting else { return }
        connecting = true
        let downstream = context.channel
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ReturningHandler(downstream: downstream))
                }
            }
            .connect(host: upstreamHost, port: upstreamPort)
            .assumeIsolated()
            .whenComplete { result in
                self.connecting = false
                switch result {
                case .success(let channel):
                    self.upstream = channel
                    self.forward(context: context)
                case .failure:
                    context.close(promise: nil)
                }
            }
    }
}

/// Writes an upstream connection's response parts back to the client connection, flushing each.
private final class ReturningHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let downstream: any Channel

    init(downstream: any Channel) {
        self.downstream = downstream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            downstream.write(HTTPServerResponsePart.head(head), promise: nil)
        case .body(let body):
            downstream.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        case .end(let trailers):
            downstream.writeAndFlush(HTTPServerResponsePart.end(trailers), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        downstream.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
