import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceEdge
import SluiceFastPath
import Testing

/// Lets `/paced-stream` go on once the test has read its first part.
private let pacedStreamGate = AsyncStream.makeStream(of: Void.self)

/// The edge's connection layer over real sockets, with raw HTTP/1.1 bytes: what clients and proxies send, not only
/// what a well-behaved HTTP client library does.
@Suite("Event-loop HTTP/1.1 channel", .timeLimit(.minutes(1)))
struct LoopHTTP1ChannelTests {
    private struct Failure: Error {}

    private static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/echo") { request, _ -> ByteBuffer in
            var request = request
            return try await request.collectBody(upTo: 16)
        }
        router.get("/stream") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for word in ["alpha", "beta", "gamma"] { try await writer.write(ByteBuffer(string: word)) }
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/paced-stream") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "first"))
                    // Wait for the client to have read the first part: it must leave before the stream goes on.
                    var proceed = pacedStreamGate.stream.makeAsyncIterator()
                    await proceed.next()
                    try await writer.write(ByteBuffer(string: "second"))
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/big") { _, _ -> ByteBuffer in
            ByteBuffer(repeating: UInt8(ascii: "z"), count: 8 << 20)
        }
        router.get("/broken-stream") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "partial"))
                    throw Failure()
                }
            )
        }
        return router
    }

    /// Runs a server with a 16-byte body limit and gives `body` its port.
    private static func withServer(_ body: (Int) async throws -> Void) async throws {
        let responder = router().buildResponder()
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: responder,
            server: .loopHTTP1(responder: responder, maxBodyBytes: 16),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.yield(channel.localAddress!.port!) },
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [app], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let bound = try #require(await iterator.next())
            try await body(bound)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Writes `request` in one write on a new connection and returns everything read until the server closes it.
    ///
    /// With `halfClose`, the client then closes its sending side, as some clients and proxies do after a request.
    /// `received` sees the text read so far after each read.
    private static func exchange(
        port: Int,
        _ request: String,
        halfClose: Bool = false,
        received: (String) -> Void = { _ in }
    ) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            if halfClose { outbound.finish() }
            var text = ""
            for try await buffer in inbound {
                text += String(buffer: buffer)
                received(text)
            }
            return text
        }
    }

    private static func post(_ body: String, close: Bool = false) -> String {
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n" + body
    }

    @Test("answers pipelined requests in order on one connection, with Date and Server headers")
    func pipelined() async throws {
        try await Self.withServer { port in
            // When three requests arrive in one write, the last asking to close
            let text = try await Self.exchange(
                port: port,
                Self.post("one") + Self.post("two") + Self.post("three", close: true)
            )
            // Then three answers come back in order, and the server closes the connection after the third
            let statuses = text.components(separatedBy: "HTTP/1.1 200 OK").count - 1
            #expect(statuses == 3, "\(text)")
            let one = try #require(text.range(of: "\r\n\r\none"))
            let two = try #require(text.range(of: "\r\n\r\ntwo"))
            let three = try #require(text.range(of: "\r\n\r\nthree"))
            #expect(one.lowerBound < two.lowerBound && two.lowerBound < three.lowerBound)
            #expect(text.lowercased().contains("server: sluice"))
            #expect(text.lowercased().contains("date: "))
            #expect(text.lowercased().contains(" gmt\r\n"))
        }
    }

    @Test("answers 413 to a body over the limit, and serves the next request on the same connection")
    func oversizedBody() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(
                port: port,
                Self.post(String(repeating: "x", count: 4000)) + Self.post("after", close: true)
            )
            let tooLarge = try #require(text.range(of: "HTTP/1.1 413"), "\(text)")
            let next = try #require(text.range(of: "HTTP/1.1 200 OK"), "\(text)")
            #expect(tooLarge.lowerBound < next.lowerBound)
            #expect(text.hasSuffix("\r\n\r\nafter"))
        }
    }

    @Test("a body of exactly the limit is accepted")
    func bodyAtLimit() async throws {
        try await Self.withServer { port in
            let body = String(repeating: "y", count: 16)
            let text = try await Self.exchange(port: port, Self.post(body, close: true))
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.hasSuffix("\r\n\r\n" + body))
        }
    }

    @Test("answers a request whose client closed its sending side right after it, then closes")
    func halfClosed() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(port: port, Self.post("bye"), halfClose: true)
            #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(text)")
            #expect(text.hasSuffix("\r\n\r\nbye"))
        }
    }

    @Test("a response larger than the socket's buffers reaches the client whole before the connection closes")
    func bigResponseThenClose() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(
                port: port,
                "GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
            )
            let body = try #require(text.range(of: "\r\n\r\n")).upperBound
            #expect(text[body...].utf8.count == 8 << 20)
        }
    }

    @Test("a malformed request gets 400 and the connection closes")
    func malformed() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(port: port, "THIS IS NOT HTTP\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
        }
    }

    @Test("parts written without waiting in between go out as one chunk, ending with the last chunk")
    func stream() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(
                port: port,
                "GET /stream HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
            )
            #expect(text.lowercased().contains("transfer-encoding: chunked"), "\(text)")
            #expect(text.hasSuffix("\r\n\r\ne\r\nalphabetagamma\r\n0\r\n\r\n"), "\(text)")
        }
    }

    @Test("a part written before the stream waits reaches the client while it waits")
    func pacedStream() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(
                port: port,
                "GET /paced-stream HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
            ) { text in
                // Only once the first part arrived is the server let go on (else this test never ends).
                if text.contains("5\r\nfirst\r\n"), !text.contains("second") {
                    pacedStreamGate.continuation.yield()
                }
            }
            #expect(text.hasSuffix("5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"), "\(text)")
        }
    }

    @Test("a stream that fails part way closes the connection without the last chunk")
    func brokenStream() async throws {
        try await Self.withServer { port in
            let text = try await Self.exchange(
                port: port,
                "GET /broken-stream HTTP/1.1\r\nHost: test\r\n\r\n"
            )
            #expect(text.contains("7\r\npartial\r\n"), "\(text)")
            #expect(!text.hasSuffix("0\r\n\r\n"), "a client must not take the cut stream for a complete one")
        }
    }
}
