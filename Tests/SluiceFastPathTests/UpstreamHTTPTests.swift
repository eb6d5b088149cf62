import Glibc
import Logging
import NIOCore
import SluiceInference
import Testing

@testable import SluiceFastPath
@testable import SluiceProviders

/// Both upstream clients, Sluice's own for plain HTTP and async-http-client, against one real server: the same
/// answers, the same errors.
@Suite("Upstream HTTP clients", .timeLimit(.minutes(1)))
struct UpstreamHTTPTests {
    private static func withClient<Result>(
        plain: Bool,
        firstTokenMs: Int64 = 5_000,
        _ body: (UpstreamHTTP, ScriptedUpstream) async throws -> Result
    ) async throws -> Result {
        let upstream = try await ScriptedUpstream()
        var timeouts = ProviderConfiguration.Timeouts()
        timeouts.firstTokenMs = firstTokenMs
        let http = UpstreamHTTP(
            providerName: "scripted",
            timeouts: timeouts,
            logger: Logger(label: "test"),
            transport: plain ? PlainUpstreamTransportFactory() : nil
        )
        do {
            let result = try await body(http, upstream)
            try await http.shutdown()
            try await upstream.close()
            return result
        } catch {
            try? await http.shutdown()
            try? await upstream.close()
            throw error
        }
    }

    /// The plain client under an `UpstreamHTTP` made with the plain transport.
    private func plainClient(_ http: UpstreamHTTP) -> PlainHTTPClient {
        (http.transport as! PlainUpstreamTransport).client
    }

    private static func url(_ upstream: ScriptedUpstream, _ path: String) -> String {
        "http://127.0.0.1:\(upstream.port)\(path)"
    }

    @Test("reads a whole body, many times over kept-alive connections", arguments: [true, false])
    func wholeBody(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            for _ in 0..<20 {
                // When a request is answered with a JSON body
                let response = try await http.post(url: Self.url(upstream, "/ok"), headers: [], body: Array("{}".utf8))
                let body = try await http.collect(response)

                // Then the body is the upstream's, every time
                #expect(String(buffer: body) == ScriptedUpstream.okBody)
            }
        }
    }

    @Test("a kept-alive connection the upstream closes while it waits in the pool is noticed and not used again")
    func idleConnectionClosedByUpstream() async throws {
        try await Self.withClient(plain: true) { http, upstream in
            // Given a connection that answered with keep-alive and went back to the pool
            let first = try await http.post(url: Self.url(upstream, "/ok"), headers: [], body: [])
            #expect(String(buffer: try await http.collect(first)) == ScriptedUpstream.okBody)
            #expect(plainClient(http).openIdleConnections == 1)

            // When the upstream closes it, as its keep-alive timeout would
            await upstream.closeClientConnections()

            // Then the pool notices (polled within a bound: the close reaches the client's loop in its own time)
            let giveUp = ContinuousClock.now + .seconds(10)
            while plainClient(http).openIdleConnections > 0, ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(plainClient(http).openIdleConnections == 0)
            // And the next request is answered, on a new connection
            let second = try await http.post(url: Self.url(upstream, "/ok"), headers: [], body: [])
            #expect(String(buffer: try await http.collect(second)) == ScriptedUpstream.okBody)
        }
    }

    @Test("streams server-sent events as they arrive", arguments: [true, false])
    func events(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            // When a streamed answer is read event by event
            let response = try await http.post(url: Self.url(upstream, "/sse"), headers: [], body: [])
            var data: [String] = []
            for try await event in http.events(of: response) { data.append(event.data) }

            // Then every event arrives, in order
            #expect(data == [#"{"n":1}"#, #"{"n":2}"#, "[DONE]"])
        }
    }

    @Test(
        "a provider stream whose waiting consumer is cancelled ends with cancelled and delivers nothing more",
        arguments: [true, false]
    )
    func cancelledStream(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            // Given an OpenAI stream that sent one delta and then stalls
            let provider = OpenAIProvider(
                name: "scripted",
                endpoint: .openAI(baseURL: Self.url(upstream, "/stalled-stream")),
                apiKey: nil,
                http: http
            )
            let request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
            let events = try await provider.openStream(request, upstreamModel: "m")
            let iterator = events.makeAsyncIterator()
            #expect(try await iterator.next() == .delta(ChatDelta(content: "hi")))

            // When the task waiting for the next event is cancelled
            let waiting = Task { try await iterator.next() }
            waiting.cancel()

            // Then the read ends with cancelled (the iterator underneath gives up on the upstream; nothing between
            // it and the consumer turns the cancellation into a clean end), and a later read delivers no event
            let error = await #expect(throws: InferenceError.self) { _ = try await waiting.value }
            #expect(error?.code == .cancelled)
            let later = try? await iterator.next()
            #expect(later == nil)
        }
    }

    @Test("maps 429 with Retry-After and 500 to their inference errors", arguments: [true, false])
    func statuses(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            // When the upstream is rate limited
            let limited = await #expect(throws: InferenceError.self) {
                _ = try await http.post(url: Self.url(upstream, "/429"), headers: [], body: [])
            }
            // Then the error is upstream_rate_limited with the upstream's message and wait
            #expect(limited?.code == .upstreamRateLimited)
            #expect(limited?.retryAfter == .seconds(2))
            #expect(limited?.message.contains("slow down") == true)

            // When the upstream fails
            let failed = await #expect(throws: InferenceError.self) {
                _ = try await http.post(url: Self.url(upstream, "/500"), headers: [], body: [])
            }
            // Then the error is upstream_unavailable with the upstream's message
            #expect(failed?.code == .upstreamUnavailable)
            #expect(failed?.message.contains("boom inside") == true)

            // And the client still works afterwards
            let response = try await http.post(url: Self.url(upstream, "/ok"), headers: [], body: [])
            #expect(String(buffer: try await http.collect(response)) == ScriptedUpstream.okBody)
        }
    }

    @Test("times out an upstream that sends nothing within the first-token timeout", arguments: [true, false])
    func stall(plain: Bool) async throws {
        try await Self.withClient(plain: plain, firstTokenMs: 300) { http, upstream in
            // When the upstream never answers
            let started = ContinuousClock.now
            let error = await #expect(throws: InferenceError.self) {
                _ = try await http.post(url: Self.url(upstream, "/stall"), headers: [], body: [])
            }

            // Then the call ends with upstream_timeout after about the first-token timeout
            #expect(error?.code == .upstreamTimeout)
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(10), "took \(elapsed)")
        }
    }

    @Test("a body cut short is an error, never a short success", arguments: [true, false])
    func cut(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            // When the upstream closes after 10 of the 100 bytes it announced
            let error = await #expect(throws: InferenceError.self) {
                let response = try await http.post(url: Self.url(upstream, "/cut"), headers: [], body: [])
                _ = try await http.collect(response)
            }

            // Then the read fails as upstream_unavailable
            #expect(error?.code == .upstreamUnavailable)
        }
    }

    @Test("an upstream that refuses connections is upstream_unavailable", arguments: [true, false])
    func refused(plain: Bool) async throws {
        try await Self.withClient(plain: plain) { http, upstream in
            // Given a port that is bound but not listening: connections to it are refused, and no other test's
            // server can take it meanwhile (a closed listener's port can be handed out again at once)
            let reserved = try ReservedPort()
            defer { reserved.release() }
            let url = "http://127.0.0.1:\(reserved.port)/ok"

            // When a request goes there
            let error = await #expect(throws: InferenceError.self) {
                _ = try await http.post(url: url, headers: [], body: [])
            }

            // Then it fails as upstream_unavailable
            #expect(error?.code == .upstreamUnavailable)
        }
    }
}

/// A loopback TCP port bound by a socket that never listens, so that connecting to it is refused.
private struct ReservedPort {
    private struct Failure: Error {}

    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(descriptor)
            throw Failure()
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() {
        Glibc.close(descriptor)
    }
}
