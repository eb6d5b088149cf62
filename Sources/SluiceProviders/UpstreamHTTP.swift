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
    /// The transport offered each call first, if the wiring plugged one in.
    let transport: (any UpstreamTransport)?
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
    ///   - transport: Makes a transport to offer each call before async-http-client; `nil` sends everything through
    ///     async-http-client.
    package init(
        providerName: String,
        timeouts: ProviderConfiguration.Timeouts,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        transport: (any UpstreamTransportFactory)? = nil
    ) {
        self.transport = transport?.makeTransport(eventLoopGroup: eventLoopGroup, timeouts: timeouts)
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
        self.providerName = providerName
        self.totalTimeout = .milliseconds(timeouts.totalMs)
        self.logger = logger
        // The client's own logging is all debug and trace; handing it a logger below that level only costs metadata
        // copies per call.
        self.clientLogger = logger.logLevel <= .debug ? logger : nil
    }

    /// Shuts the client down; pending calls fail.
    package func shutdown() async throws {
        transport?.shutdown()
        try await client.shutdown()
    }

    /// A response whose head arrived with a 2xx status and whose body has not been read.
    struct Response: Sendable {
        enum Body: Sendable {
            case client(HTTPClientResponse.Body)
            case transport(any UpstreamResponseBody)
        }

        var body: Body
    }

    /// Sends a JSON request and returns the response once its head has arrived with a 2xx status.
    ///
    /// The plugged-in ``UpstreamTransport`` gets the call first; async-http-client sends what it declines.
    ///
    /// - Parameters:
    ///   - url: The full URL.
    ///   - headers: Headers beyond `content-type`.
    ///   - body: The JSON body.
    /// - Returns: The response, whose body has not been read.
    /// - Throws: ``InferenceError`` for non-2xx statuses and transport failures.
    func post(url: String, headers: [(String, String)], body: [UInt8]) async throws -> Response {
        var fields = HTTPHeaders()
        fields.add(name: "content-type", value: "application/json")
        fields.add(name: "accept", value: "application/json, text/event-stream")
        for (name, value) in headers { fields.add(name: name, value: value) }
        let deadline = NIODeadline.now() + totalTimeout
        if let transport {
            let offered: (any UpstreamResponseBody)?
            do {
                offered = try await transport.post(url: url, headers: fields, body: body, deadline: deadline)
            } catch {
                throw mapTransportError(error)
            }
            if let response = offered {
                guard (200..<300).contains(response.status.code) else {
                    let text = (try? await response.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
                    throw statusError(response.status, headers: response.headers, body: text)
                }
                return Response(body: .transport(response))
            }
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = fields
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline, logger: clientLogger)
        } catch {
            throw mapTransportError(error)
        }
        guard (200..<300).contains(response.status.code) else {
            let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            throw statusError(response.status, headers: response.headers, body: text)
        }
        return Response(body: .client(response.body))
    }

    /// Reads a whole response body.
    ///
    /// - Parameter response: A response from ``post(url:headers:body:)``.
    /// - Returns: The body bytes.
    func collect(_ response: Response) async throws -> ByteBuffer {
        do {
            switch response.body {
            case .client(let body): return try await body.collect(upTo: 16 * 1024 * 1024)
            case .transport(let body): return try await body.collect(upTo: 16 * 1024 * 1024)
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
            case .transport(let body): .transport(body)
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
            case transport(any UpstreamResponseBody)
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
                    case .transport(let body):
                        chunk = try await body.next()
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
    package func mapTransportError(_ error: any Error) -> InferenceError {
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
        case 401:
            return InferenceError(
                .upstreamUnauthorized,
                "The upstream refused Sluice's credentials (check the provider's API key): \(detail)",
                provider: providerName
            )
        case 403:
            return InferenceError(
                .upstreamForbidden,
                "The upstream refused the call: \(detail)",
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
