package import NIOCore
package import NIOHTTP1
package import SluiceInference

/// A way to send a provider's HTTP requests other than async-http-client, plugged in by the wiring.
///
/// ``UpstreamHTTP`` offers each call to its transport first; a transport that does not carry the URL returns `nil`
/// and async-http-client sends it. Whatever it carries, it keeps async-http-client's contract: the connect and
/// first-token timeouts it was made with, the call's deadline, cancellation of the waiting task, and errors that
/// ``UpstreamHTTP/mapTransportError(_:)`` understands (`HTTPClientError`'s timeouts, `CancellationError`).
package protocol UpstreamTransport: Sendable {
    /// Sends a JSON `POST` and returns once the response head has arrived.
    ///
    /// - Parameters:
    ///   - url: The full URL.
    ///   - headers: Every request header, `content-type` included.
    ///   - body: The body.
    ///   - deadline: When the whole call must have ended.
    /// - Returns: The response with its body unread, or `nil` when this transport does not carry `url`.
    /// - Throws: A transport failure.
    func post(
        url: String,
        headers: HTTPHeaders,
        body: [UInt8],
        deadline: NIODeadline
    ) async throws
        -> (any UpstreamResponseBody)?

    /// Closes the transport's connections; pending calls fail.
    func shutdown()
}

/// A response from an ``UpstreamTransport``: its head, and its body to read once.
///
/// Letting go of the response before its body ended gives up the connection.
package protocol UpstreamResponseBody: AnyObject, Sendable {
    /// The status.
    var status: HTTPResponseStatus { get }
    /// The headers.
    var headers: HTTPHeaders { get }
    /// The next part of the body, or `nil` after the last.
    func next() async throws -> ByteBuffer?
    /// The rest of the body, failing beyond `maxBytes`.
    func collect(upTo maxBytes: Int) async throws -> ByteBuffer
}

/// Makes the ``UpstreamTransport`` of one provider.
package protocol UpstreamTransportFactory: Sendable {
    /// A transport with the provider's timeouts, its connections on `eventLoopGroup`.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: Where the connections live.
    ///   - timeouts: The provider's connect and first-token timeouts.
    /// - Returns: The transport.
    func makeTransport(
        eventLoopGroup: any EventLoopGroup,
        timeouts: ProviderConfiguration.Timeouts
    )
        -> any UpstreamTransport
}
