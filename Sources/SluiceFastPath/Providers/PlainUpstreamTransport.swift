package import NIOCore
package import NIOHTTP1
package import SluiceInference
package import SluiceProviders

/// Sends `http://` upstream calls through ``PlainHTTPClient`` on the caller's event loop
/// (`performance.plain_http_client`); `https://` ones are left to async-http-client.
///
/// Plug it in only where callers run on an event loop of their own (the edge's loop channel, a service pinned to its
/// loop): called from the global executor under load, the plain client's connections were seen to fail with
/// `remoteConnectionClosed` (ARCHITECTURE.md, known limitations).
package struct PlainUpstreamTransportFactory: UpstreamTransportFactory {
    /// Creates the factory.
    package init() {}

    /// A plain-HTTP transport with the provider's timeouts; see
    /// ``UpstreamTransportFactory/makeTransport(eventLoopGroup:timeouts:)``.
    package func makeTransport(
        eventLoopGroup: any EventLoopGroup,
        timeouts: ProviderConfiguration.Timeouts
    )
        -> any UpstreamTransport
    {
        PlainUpstreamTransport(
            client: PlainHTTPClient(
                group: eventLoopGroup,
                connectTimeout: .milliseconds(timeouts.connectMs),
                readTimeout: .milliseconds(timeouts.firstTokenMs)
            )
        )
    }
}

/// ``PlainHTTPClient`` as an ``UpstreamTransport``.
struct PlainUpstreamTransport: UpstreamTransport {
    let client: PlainHTTPClient

    func post(
        url: String,
        headers: HTTPHeaders,
        body: [UInt8],
        deadline: NIODeadline
    ) async throws
        -> (any UpstreamResponseBody)?
    {
        guard let target = PlainTarget(url) else { return nil }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path)
        head.headers = headers
        let exchange = try await client.execute(
            target.endpoint,
            head: head,
            body: ByteBuffer(bytes: body),
            deadline: deadline
        )
        return PlainUpstreamResponse(exchange)
    }

    func shutdown() {
        client.shutdown()
    }
}

/// Holds a plain-HTTP exchange for its reader; a reader that lets go before the end closes the connection.
final class PlainUpstreamResponse: UpstreamResponseBody {
    let exchange: PlainHTTPExchange

    init(_ exchange: PlainHTTPExchange) {
        self.exchange = exchange
    }

    deinit {
        exchange.abandon()
    }

    var status: HTTPResponseStatus { exchange.responseHead.status }

    var headers: HTTPHeaders { exchange.responseHead.headers }

    func next() async throws -> ByteBuffer? {
        try await exchange.next()
    }

    func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        try await exchange.collect(upTo: maxBytes)
    }
}

/// An `http://host[:port]/path` URL, split for ``PlainHTTPClient``; `nil` for anything else.
struct PlainTarget: Hashable {
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
