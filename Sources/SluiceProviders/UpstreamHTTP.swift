import AsyncHTTPClient
import Foundation
package import Logging
package import NIOCore
import NIOHTTP1
package import SluiceInference

/// The HTTP side shared by the HTTP providers: one client per provider with its connect and read timeouts, a
/// deadline per call, and the mapping of statuses and transport failures onto ``InferenceError``.
///
/// The read timeout is the provider's `first_token_ms`: no byte for that long, before the first token or
/// inside a stream, ends the call with `upstream_timeout`.
package final class UpstreamHTTP: Sendable {
    /// One decoder for every provider response, chunk and stream event: decoding keeps no per-call state, so none
    /// is allocated per streamed token.
    static let jsonDecoder = JSONDecoder()

    /// The client for TLS upstreams; shut down with ``shutdown()``.
    let client: HTTPClient
    /// The client for plain-HTTP upstreams, on the caller's event loop.
    let plain: PlainHTTPClient
    private let usesPlainClient: Bool
    let providerName: String
    let totalTimeout: TimeAmount
    let logger: Logger
    private let clientLogger: Logger?

    /// Creates a client for one provider.
    ///
    /// - Parameters:
    ///   - providerName: The provider's name, for errors and logs.
    ///   - timeouts: The provider's timeouts.
    ///   - logger: The logger.
    ///   - eventLoopGroup: Where the client's connections live; a caller running on one of its loops gets a
    ///     connection on that loop, so the call does not change threads.
    ///   - plainHTTP: Whether `http://` upstreams use ``PlainHTTPClient``; `false` sends everything through
    ///     async-http-client (tests compare the two).
    package init(
        providerName: String,
        timeouts: ProviderConfiguration.Timeouts,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        plainHTTP: Bool = true
    ) {
        self.usesPlainClient = plainHTTP
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: .milliseconds(timeouts.connectMs),
            read: .milliseconds(timeouts.firstTokenMs)
        )
        // Sluice bootstraps no distributed tracer yet, so the client's default is a no-op tracer that still costs a
        // span per call on the request path. Pass the process's tracer here once one is bootstrapped.
        configuration.tracing.tracer = nil
        // A provider API answers a POST itself; following a redirect would resend the body and the provider key to
        // wherever the upstream points. A 3xx is reported as the upstream refusing the call.
        configuration.redirectConfiguration = .disallow
        self.client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        self.plain = PlainHTTPClient(
            group: eventLoopGroup,
            connectTimeout: .milliseconds(timeouts.connectMs),
            readTimeout: .milliseconds(timeouts.firstTokenMs)
        )
        self.providerName = providerName
        self.totalTimeout = .milliseconds(timeouts.totalMs)
        self.logger = logger
        // The client's own logging is all debug and trace; handing it a logger below that level only costs metadata
        // copies per call.
        self.clientLogger = logger.logLevel <= .debug ? logger : nil
    }

    /// Shuts the client down; pending calls fail.
    package func shutdown() async throws {
        plain.shutdown()
        try await client.shutdown()
    }

    /// A response whose head arrived with a 2xx status and whose body has not been read.
    struct Response: Sendable {
        enum Body: Sendable {
            case client(HTTPClientResponse.Body)
            case plain(PlainBodyLease)
        }

        var body: Body
    }

    /// Holds a plain-HTTP exchange for its reader; a reader that lets go before the end closes the connection.
    final class PlainBodyLease: Sendable {
        let exchange: PlainHTTPExchange

        init(_ exchange: PlainHTTPExchange) {
            self.exchange = exchange
        }

        deinit {
            exchange.abandon()
        }
    }

    /// Sends a JSON request and returns the response once its head has arrived with a 2xx status.
    ///
    /// `http://` URLs go through ``PlainHTTPClient`` on the caller's event loop; `https://` ones through
    /// async-http-client.
    ///
    /// - Parameters:
    ///   - url: The full URL.
    ///   - headers: Headers beyond `content-type`.
    ///   - body: The JSON body.
    /// - Returns: The response, whose body has not been read.
    /// - Throws: ``InferenceError`` for non-2xx statuses and transport failures.
    func post(url: String, headers: [(String, String)], body: [UInt8]) async throws -> Response {
        if usesPlainClient, let target = PlainTarget(url) {
            return try await postPlain(target, headers: headers, body: body)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + totalTimeout, logger: clientLogger)
        } catch {
            throw mapTransportError(error)
        }
        guard (200..<300).contains(response.status.code) else {
            let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            throw statusError(response.status, headers: response.headers, body: text)
        }
        return Response(body: .client(response.body))
    }

    private func postPlain(_ target: PlainTarget, headers: [(String, String)], body: [UInt8]) async throws -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path)
        head.headers.add(name: "content-type", value: "application/json")
        head.headers.add(name: "accept", value: "application/json, text/event-stream")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let exchange: PlainHTTPExchange
        do {
            exchange = try await plain.execute(
                target.endpoint,
                head: head,
                body: ByteBuffer(bytes: body),
                deadline: .now() + totalTimeout
            )
        } catch {
            throw mapTransportError(error)
        }
        let lease = PlainBodyLease(exchange)
        let responseHead = exchange.responseHead
        guard (200..<300).contains(responseHead.status.code) else {
            let text = (try? await exchange.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            withExtendedLifetime(lease) {}
            throw statusError(responseHead.status, headers: responseHead.headers, body: text)
        }
        return Response(body: .plain(lease))
    }

    /// An `http://host[:port]/path` URL, split for ``PlainHTTPClient``; `nil` for anything else.
    struct PlainTarget {
        var endpoint: PlainHTTPClient.Endpoint
        var path: String

        /// Splits an `http://` URL; `nil` for any other scheme, user info, or a malformed authority or port.
        ///
        /// It runs for every request, so it works on the URL's UTF-8 bytes: the delimiters are all ASCII, and
        /// splitting by `Character` cost about 2.5 % of a request's CPU.
        init?(_ url: String) {
            let bytes = url.utf8
            guard bytes.starts(with: "http://".utf8) else { return nil }
            let authorityStart = bytes.index(bytes.startIndex, offsetBy: 7)
            let authorityEnd =
                bytes[authorityStart...].firstIndex {
                    $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
                }
                ?? bytes.endIndex
            let pathEnd = bytes[authorityEnd...].firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
            var path = String(url[authorityEnd..<pathEnd])
            if path.isEmpty || path.utf8.first == UInt8(ascii: "?") { path = "/" + path }
            let authority = bytes[authorityStart..<authorityEnd]
            guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { return nil }
            let host: Substring
            let port: Substring.UTF8View?
            if authority.first == UInt8(ascii: "[") {
                guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
                host = url[bytes.index(after: authorityStart)..<close]
                let after = url[bytes.index(after: close)..<authorityEnd].utf8
                guard after.isEmpty || after.first == UInt8(ascii: ":") else { return nil }
                port = after.isEmpty ? nil : after.dropFirst()
            } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
                host = url[authorityStart..<colon]
                port = url[bytes.index(after: colon)..<authorityEnd].utf8
            } else {
                host = url[authorityStart..<authorityEnd]
                port = nil
            }
            guard !host.isEmpty else { return nil }
            let number: Int
            if let port {
                guard !port.isEmpty, port.count <= 5, port.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    return nil
                }
                number = port.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            } else {
                number = 80
            }
            guard (1...65535).contains(number) else { return nil }
            endpoint = PlainHTTPClient.Endpoint(host: String(host), port: number)
            self.path = path
        }
    }

    /// Reads a whole response body.
    ///
    /// - Parameter response: A response from ``post(url:headers:body:)``.
    /// - Returns: The body bytes.
    func collect(_ response: Response) async throws -> ByteBuffer {
        do {
            switch response.body {
            case .client(let body): return try await body.collect(upTo: 16 * 1024 * 1024)
            case .plain(let lease): return try await lease.exchange.collect(upTo: 16 * 1024 * 1024)
            }
        } catch {
            throw mapTransportError(error)
        }
    }

    /// The server-sent events of a streamed response, as they arrive.
    ///
    /// The events are pulled straight from the response body by whoever iterates them (a provider's stream iterator),
    /// without a stream of their own in between.
    ///
    /// - Parameter response: A response from ``post(url:headers:body:)``.
    /// - Returns: The events; transport failures are thrown as ``InferenceError``.
    func events(of response: Response) -> Events {
        let source: EventIterator.Source =
            switch response.body {
            case .client(let body): .client(body.makeAsyncIterator())
            case .plain(let lease): .plain(lease)
            }
        return Events(iterator: EventIterator(source: source, http: self))
    }

    /// The server-sent events of one streamed response; iterate them once.
    struct Events: AsyncSequence {
        fileprivate let iterator: EventIterator

        func makeAsyncIterator() -> EventIterator { iterator }
    }

    /// Reads a streamed response body and hands out its server-sent events.
    struct EventIterator: AsyncIteratorProtocol {
        enum Source {
            case client(HTTPClientResponse.Body.AsyncIterator)
            case plain(PlainBodyLease)
        }

        var source: Source
        let http: UpstreamHTTP
        var parser = ServerSentEventParser()
        var ready: [ServerSentEventParser.Event] = []

        mutating func next() async throws -> ServerSentEventParser.Event? {
            while ready.isEmpty {
                let chunk: ByteBuffer?
                do {
                    switch source {
                    case .client(var body):
                        chunk = try await body.next()
                        source = .client(body)
                    case .plain(let lease):
                        chunk = try await lease.exchange.next()
                    }
                } catch {
                    throw http.mapTransportError(error)
                }
                guard let chunk else { return nil }
                ready = parser.feed(chunk.readableBytesView)
            }
            return ready.removeFirst()
        }
    }

    // MARK: - Errors

    /// Maps a transport failure onto an inference error.
    ///
    /// - Parameter error: What the HTTP client threw.
    /// - Returns: `upstream_timeout` for timeouts, `cancelled` for cancellation, `upstream_unavailable` otherwise.
    func mapTransportError(_ error: any Error) -> InferenceError {
        if let error = error as? InferenceError { return error }
        if error is CancellationError {
            return InferenceError(.cancelled, "The request was cancelled", provider: providerName)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout:
                return InferenceError(
                    .upstreamTimeout,
                    "The upstream sent nothing within the first-token timeout",
                    provider: providerName
                )
            case .deadlineExceeded:
                return InferenceError(
                    .upstreamTimeout,
                    "The upstream did not finish within the total timeout",
                    provider: providerName
                )
            case .connectTimeout:
                return InferenceError(
                    .upstreamUnavailable,
                    "Connecting to the upstream timed out",
                    provider: providerName
                )
            case .cancelled:
                return InferenceError(.cancelled, "The request was cancelled", provider: providerName)
            default:
                break
            }
        }
        return InferenceError(
            .upstreamUnavailable,
            "The upstream could not be reached: \(error)",
            provider: providerName
        )
    }

    private func statusError(_ status: HTTPResponseStatus, headers: HTTPHeaders, body: String) -> InferenceError {
        let detail = Self.upstreamMessage(in: body) ?? status.reasonPhrase
        switch status.code {
        case 429:
            return InferenceError(
                .upstreamRateLimited,
                "The upstream rate limit was reached: \(detail)",
                retryAfter: Self.retryAfter(headers),
                provider: providerName
            )
        case 400, 413, 422:
            return InferenceError(
                .invalidRequest,
                "The upstream rejected the request: \(detail)",
                provider: providerName
            )
        case 408, 500...599:
            return InferenceError(
                .upstreamUnavailable,
                "The upstream failed with status \(status.code): \(detail)",
                retryAfter: Self.retryAfter(headers),
                provider: providerName
            )
        default:
            return InferenceError(
                .upstreamRejected,
                "The upstream refused the call with status \(status.code): \(detail)",
                provider: providerName
            )
        }
    }

    /// Reads `retry-after-ms` or `Retry-After` (seconds or an HTTP date).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let millis = headers.first(name: "retry-after-ms").flatMap(Double.init), millis >= 0 {
            return .milliseconds(Int64(millis))
        }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }

    /// The `error.message` of an OpenAI- or Anthropic-style error body, shortened.
    static func upstreamMessage(in body: String) -> String? {
        guard let json = JSONValue.parse(body) else {
            return body.isEmpty ? nil : String(body.prefix(300))
        }
        let message = json["error"]?["message"]?.stringValue ?? json["message"]?.stringValue
        return message.map { String($0.prefix(300)) }
    }
}
