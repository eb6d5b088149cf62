import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

// A gRPC bidirectional stream driven straight on swift-nio-http2's stream channels, without grpc-swift's per-stream
// machinery: what the `Exchange` stream's messages would cost over a lean transport (decision record 0004). Both
// sides speak ordinary gRPC on the wire (length-prefixed messages on an HTTP/2 stream, `grpc-status` trailers), so
// each interoperates with grpc-swift's side of the echo service and the four pairings can be measured apart.

/// Length-prefixed gRPC messages taken out of the DATA frames of one stream, uncompressed only.
struct GRPCMessageFramer {
    /// The largest message taken, gRPC's usual default receive limit: a peer cannot make the buffer grow past it.
    static let maximumMessageBytes: UInt32 = 4 * 1024 * 1024

    private var buffer = ByteBuffer()

    /// The frame that carries `message` on the wire: flag 0 (uncompressed), a 32-bit big-endian length, the bytes.
    static func frame(_ message: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var framed = allocator.buffer(capacity: 5 + message.readableBytes)
        framed.writeInteger(UInt8(0))
        framed.writeInteger(UInt32(message.readableBytes))
        framed.writeImmutableBuffer(message)
        return framed
    }

    /// Adds the bytes of a DATA frame.
    mutating func append(_ data: IOData) throws {
        guard case .byteBuffer(var bytes) = data else { throw LeanGRPCError("file regions are not gRPC messages") }
        buffer.writeBuffer(&bytes)
    }

    /// The next whole message, if one has arrived.
    mutating func next() throws -> ByteBuffer? {
        // The prefix is checked as soon as it has arrived, before the body is buffered.
        guard let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag == 0 else { throw LeanGRPCError("compressed messages are not supported") }
        guard length <= Self.maximumMessageBytes else {
            throw LeanGRPCError("a message of \(length) bytes is over the \(Self.maximumMessageBytes)-byte limit")
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let message = buffer.readSlice(length: Int(length))
        if buffer.readableBytes == 0 { buffer.clear() }
        return message
    }
}

/// Something a lean stream could not do.
struct LeanGRPCError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The client's end of one echo stream: sends a message and resumes the caller when its echo arrives.
///
/// Lives on the stream channel's event loop; the caller reaches it through a `NIOLoopBound` from a task whose
/// executor is that loop, so sending and resuming cost no thread hop.
final class LeanEchoClientStream: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let path: String
    private let authority: String
    private var context: ChannelHandlerContext?
    private var framer = GRPCMessageFramer()
    private var headersSent = false
    private var waiting: CheckedContinuation<ByteBuffer, any Error>?
    private var failure: (any Error)?

    init(path: String, authority: String) {
        self.path = path
        self.authority = authority
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Sends one message; `continuation` gets its echo.
    func send(_ message: ByteBuffer, _ continuation: CheckedContinuation<ByteBuffer, any Error>) {
        guard let context, failure == nil, waiting == nil else {
            continuation.resume(throwing: failure ?? LeanGRPCError("stream not ready or busy"))
            return
        }
        waiting = continuation
        if !headersSent {
            headersSent = true
            let headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
                "content-type": "application/grpc", "te": "trailers",
            ]
            context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        }
        let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            switch unwrapInboundIn(data) {
            case .data(let frame):
                try framer.append(frame.data)
                while let message = try framer.next() {
                    let continuation = waiting
                    waiting = nil
                    continuation?.resume(returning: message)
                }
                if frame.endStream { fail(LeanGRPCError("the stream ended")) }
            case .headers(let frame):
                if frame.endStream { fail(LeanGRPCError("the stream ended: \(frame.headers)")) }
            default:
                break
            }
        } catch {
            fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) { fail(LeanGRPCError("the stream closed")) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        failure = failure ?? error
        let continuation = waiting
        waiting = nil
        continuation?.resume(throwing: error)
    }
}

/// The server's end of one echo stream: answers headers, echoes each message at once, ends with `grpc-status: 0`.
final class LeanEchoServerStream: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var framer = GRPCMessageFramer()
    private var headersSent = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            switch unwrapInboundIn(data) {
            case .headers(let frame):
                if !headersSent {
                    headersSent = true
                    let headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
                    context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
                }
                if frame.endStream { finish(context: context) } else { context.flush() }
            case .data(let frame):
                try framer.append(frame.data)
                var echoed = false
                while let message = try framer.next() {
                    let framed = GRPCMessageFramer.frame(message, allocator: context.channel.allocator)
                    context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(framed)))), promise: nil)
                    echoed = true
                }
                if frame.endStream { finish(context: context) } else if echoed { context.flush() }
            default:
                break
            }
        } catch {
            context.close(promise: nil)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        let trailers: HPACKHeaders = ["grpc-status": "0"]
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
    }
}

/// Connects to `port` on loopback and opens one lean echo stream on `loop`.
func openLeanEchoStream(
    on loop: any EventLoop,
    port: Int,
    path: String
) async throws -> NIOLoopBound<LeanEchoClientStream> {
    let multiplexer = try await ClientBootstrap(group: loop)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .client,
                    connectionConfiguration: .init(),
                    streamConfiguration: .init()
                ) { $0.eventLoop.makeSucceededVoidFuture() }
            }
        }
    let authority = "127.0.0.1:\(port)"
    let stream = try await multiplexer.createStreamChannel { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(LeanEchoClientStream(path: path, authority: authority))
        }
    }.get()
    return try await loop.submit {
        NIOLoopBound(try stream.pipeline.syncOperations.handler(type: LeanEchoClientStream.self), eventLoop: loop)
    }.get()
}

/// Serves lean echo streams on `port` until the server channel closes.
func serveLeanEcho(on loop: any EventLoop, port: Int) async throws {
    let server = try await ServerBootstrap(group: loop)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .server,
                    connectionConfiguration: .init(),
                    streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(LeanEchoServerStream())
                    }
                }
            }
        }
        .bind(host: "127.0.0.1", port: port)
        .get()
    try await server.closeFuture.get()
}
