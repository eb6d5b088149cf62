import HTTPTypes
package import Hummingbird
package import HummingbirdCore
package import Logging
package import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
package import SluiceEdge

/// HTTP/1.1 connections served on their event loop, handing whole requests to a Hummingbird responder.
///
/// Hummingbird's own `HTTP1Channel` bridges every connection into Swift concurrency through `NIOAsyncChannel`: each
/// request head, body part and end goes through an async sequence, and each response part through an async writer
/// that hops back onto the event loop. Measured against it on the chat path, this channel takes about 2 % off the
/// CPU of a JSON answer and about 6 % off a streamed one (one async write per event before). It keeps Hummingbird's
/// router, middleware, request context and response types, and replaces only the connection layer:
///
/// - NIO's HTTP/1 codec with pipelining assistance (a pipelined request waits until the previous response ended),
///   NIO's protocol error handler (a malformed request gets `400` and the connection closes) and Hummingbird's
///   `HTTPConnectionStateHandler` (closing connections once their response ends on graceful shutdown; no idle
///   timeout, as with Hummingbird's default).
/// - ``RequestCollector`` gathers a request's body on the event loop, up to `maxBodyBytes` plus one
///   byte (the rest is read and dropped, so the route's own `collectBody(upTo:)` answers `413`), and passes the whole
///   request to the connection's task.
/// - The connection's task runs on the connection's event loop (its executor preference), calls the responder, and
///   writes the response straight into the pipeline: head and a one-buffer body in one write; a streamed body's
///   parts gathered per turn of the event loop (up to 64 KiB) into one chunk and one flush, so a burst leaves in one
///   `writev` and a part followed by a wait leaves at once; waiting only when the channel stops being writable.
///
/// Responses carry `Date` and `Server: sluice` headers, as Hummingbird's application adds them. After a request with
/// `Connection: close`, or once the client closed its sending side, the connection closes when the last response
/// has reached the socket, never cutting it short; after a streamed body fails part way it closes at once, without
/// the chunked terminator, so the client cannot take the stream for complete.
///
/// ```swift
/// let responder = router.buildResponder()
/// let app = Application(responder: responder, server: .loopHTTP1(responder: responder, maxBodyBytes: 4 << 20))
/// ```
package struct LoopHTTP1Channel<Responder: HTTPResponder>: ServerChildChannel
where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
    /// One connection: its channel and the requests its collector has gathered.
    package struct Connection: ServerChildChannelValue {
        /// The connection's channel.
        package let channel: any Channel
        let requests: AsyncStream<CollectedRequest>
    }

    /// The responder every request goes to: the router.
    let responder: Responder
    /// The most request-body bytes kept in memory; a route that accepts more never sees more than this plus one.
    let maxBodyBytes: Int

    /// Creates the channel setup.
    ///
    /// - Parameters:
    ///   - responder: The responder every request goes to.
    ///   - maxBodyBytes: The most request-body bytes kept in memory.
    package init(responder: Responder, maxBodyBytes: Int) {
        self.responder = responder
        self.maxBodyBytes = maxBodyBytes
    }

    /// Builds the connection's pipeline.
    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            let (requests, continuation) = AsyncStream.makeStream(
                of: CollectedRequest.self,
                bufferingPolicy: .unbounded
            )
            let operations = channel.pipeline.syncOperations
            try operations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withErrorHandling: true,
                withOutboundHeaderValidation: false  // HTTPTypes validated the fields already.
            )
            try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try operations.addHandler(
                HTTPConnectionStateHandler(idleTimeout: nil, logger: logger)
            )
            try operations.addHandler(
                RequestCollector(maxBodyBytes: maxBodyBytes, requests: continuation)
            )
            return Connection(channel: channel, requests: requests)
        }
    }

    /// Answers the connection's requests in order until it closes.
    package func handle(value connection: Connection, logger: Logger) async {
        let channel = connection.channel
        await withTaskExecutorPreference(EventLoopTaskExecutor.shared(for: channel.eventLoop)) {
            // The end of the last response written: the connection closes only once it reached the socket.
            var lastEnd: EventLoopFuture<Void>?
            defer {
                if let lastEnd {
                    lastEnd.whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            }
            for await collected in connection.requests {
                let request = Request(head: collected.head, body: RequestBody(buffer: collected.body))
                let context = Responder.Context(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch {
                    logger.debug("responder failed", metadata: ["error": "\(error)"])
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = HTTPDate.now()
                response.headers[.server] = "sluice"
                do {
                    lastEnd = try await ChannelResponseWriter.write(response, to: channel)
                } catch {
                    // The connection is gone, or a streamed body failed part way: close without an end.
                    logger.trace("response not written", metadata: ["error": "\(error)"])
                    lastEnd = nil
                    break
                }
                if collected.head.headerFields[.connection]?.lowercased() == "close" { break }
            }
            // The requests ended: the client closed the connection or its sending side.
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 served by ``LoopHTTP1Channel`` with `responder`.
    ///
    /// Hummingbird's `Application` hands a server builder its own per-request closure, built for
    /// `NIOAsyncChannel`; this builder leaves that closure unused and calls `responder` (the application's router)
    /// itself, adding the `Date` and `Server` headers the closure would have added.
    ///
    /// - Parameters:
    ///   - responder: The router's responder.
    ///   - maxBodyBytes: The most request-body bytes kept in memory.
    /// - Returns: The builder.
    package static func loopHTTP1<Responder: HTTPResponder>(
        responder: Responder,
        maxBodyBytes: Int
    ) -> HTTPServerBuilder
    where Responder.Context: RequestContext, Responder.Context.Source == ApplicationRequestContextSource {
        .init { _ in LoopHTTP1Channel(responder: responder, maxBodyBytes: maxBodyBytes) }
    }
}

/// Serves the edge's connections with ``LoopHTTP1Channel`` (`performance.event_loop_channel`).
package struct LoopHTTP1ServerProvider: EdgeServerProvider {
    /// Creates the provider.
    package init() {}

    /// The loop channel's server builder; see ``EdgeServerProvider/server(responder:maxBodyBytes:)``.
    package func server(responder: RouterResponder<EdgeRequestContext>, maxBodyBytes: Int) -> HTTPServerBuilder {
        .loopHTTP1(responder: responder, maxBodyBytes: maxBodyBytes)
    }
}
