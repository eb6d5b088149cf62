import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP/1.1 server on loopback whose answer depends on the request path, for testing the upstream clients.
///
/// - `/ok`: 200 with a JSON body and `Content-Length`.
/// - `/sse`: 200, chunked, three server-sent events in three writes.
/// - `/429`: 429 with `Retry-After: 2` and an OpenAI-style error body.
/// - `/500`: 500 with an OpenAI-style error body.
/// - `/stall`: reads the request and never answers.
/// - `/cut`: announces 100 bytes of body, sends 10 and closes the connection.
final class ScriptedUpstream: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }
    /// The connections clients opened, for ``closeClientConnections()``.
    private let connections = Connections()

    init() async throws {
        let connections = self.connections
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedUpstreamHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func close() async throws {
        try await channel.close()
    }

    /// Closes every connection a client opened, as an upstream whose keep-alive timeout ran out does, and returns once
    /// they are closed.
    func closeClientConnections() async {
        for connection in connections.all {
            try? await connection.close()
        }
    }

    static let okBody = #"{"id":"ok","n":1}"#
    static let events = ["data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"]
    /// The one chunk `/stalled-stream/chat/completions` sends.
    static let firstChunk = #"data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}"# + "\n\n"
}

/// The server's client connections, added from its event loops and read by the test.
private final class Connections: Sendable {
    private let channels = Mutex<[any Channel]>([])

    var all: [any Channel] { channels.withLock { $0 } }

    func add(_ channel: any Channel) {
        channels.withLock { $0.append(channel) }
    }
}

private final class ScriptedUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var uri = ""

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end: respond(context)
        }
    }

    private func respond(_ context: ChannelHandlerContext) {
        switch uri {
        case "/ok":
            send(context, .ok, body: ScriptedUpstream.okBody)
        case "/sse":
            var headers = HTTPHeaders([("content-type", "text/event-stream"), ("transfer-encoding", "chunked")])
            headers.add(name: "cache-control", value: "no-cache")
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            for event in ScriptedUpstream.events {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: event)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "/429":
            send(context, .tooManyRequests, body: #"{"error":{"message":"slow down"}}"#, extra: [("retry-after", "2")])
        case "/500":
            send(context, .internalServerError, body: #"{"error":{"message":"boom inside"}}"#)
        case "/stall":
            break
        case "/stalled-stream/chat/completions":
            // One OpenAI chunk, then nothing more: the stream stays open until the client gives up.
            let headers = HTTPHeaders([("content-type", "text/event-stream"), ("transfer-encoding", "chunked")])
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.writeAndFlush(
                wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: ScriptedUpstream.firstChunk)))),
                promise: nil
            )
        case "/cut":
            let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "100")])
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{\"id\":\"cu")))), promise: nil)
            context.close(promise: nil)
        default:
            send(context, .notFound, body: "{}")
        }
    }

    private func send(
        _ context: ChannelHandlerContext,
        _ status: HTTPResponseStatus,
        body: String,
        extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "\(body.utf8.count)")])
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
