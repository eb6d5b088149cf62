import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// A request as ``RequestCollector`` hands it over: the head and the body, whole.
struct CollectedRequest: Sendable {
    /// The request head.
    let head: HTTPRequest
    /// The body; at most the collector's limit plus one byte.
    let body: ByteBuffer
}

/// Gathers each request's body on the event loop and hands the whole request to the connection's task.
///
/// A body longer than `maxBodyBytes` is kept to `maxBodyBytes + 1` bytes and the rest is read and dropped, so memory
/// stays bounded and the route's `collectBody(upTo:)` still sees that the body was too large. With NIO's pipelining
/// assistance in front of it, a second request's parts arrive only after the first response ended.
final class RequestCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let maxBodyBytes: Int
    private let requests: AsyncStream<CollectedRequest>.Continuation
    private var head: HTTPRequest?
    private var body: ByteBuffer?

    init(maxBodyBytes: Int, requests: AsyncStream<CollectedRequest>.Continuation) {
        self.maxBodyBytes = maxBodyBytes
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = nil
        case .body(var part):
            let room = maxBodyBytes + 1 - (body?.readableBytes ?? 0)
            guard room > 0 else { return }
            if part.readableBytes > room {
                part = part.getSlice(at: part.readerIndex, length: room)!
            }
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            requests.yield(CollectedRequest(head: head, body: body ?? ByteBuffer()))
            self.head = nil
            self.body = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        requests.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requests.finish()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its sending side: no request follows the ones already collected.
        if case ChannelEvent.inputClosed = event { requests.finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Parse errors were answered with 400 by NIO's protocol error handler before they got here.
        context.close(promise: nil)
    }
}

/// Writes a Hummingbird `Response` into a channel from a task running on the channel's event loop.
///
/// A class, so that the connection's task still holds it after handing it to the response body: it then knows
/// whether the response ended, and can wait for the end to reach the socket before it closes the connection.
///
/// Body parts are gathered and written once per turn of the event loop, not once each: parts written one after another
/// without the writer's task suspending in between (a stream's events that arrived in one read from the upstream) go
/// down the pipeline as one chunk and leave in one `writev`, and a part followed by a wait for more data leaves as
/// soon as the task suspends.
final class ChannelResponseWriter: ResponseBodyWriter {
    private let channel: any Channel
    private var head: HTTPResponse?
    private var end: EventLoopFuture<Void>?
    /// Body bytes written in this turn of the loop and not yet passed to the channel.
    private var pending: ByteBuffer?
    /// The most body bytes gathered before they go to the channel anyway: NIO's default write-buffer high watermark.
    private static let mostGathered = 64 * 1024

    private init(channel: any Channel, head: HTTPResponse) {
        self.channel = channel
        self.head = head
    }

    /// Writes `response`: for a one-buffer body, head, body and end in one flush.
    ///
    /// - Parameters:
    ///   - response: The response.
    ///   - channel: The connection.
    /// - Returns: The write of the response's end, to wait for before closing the connection.
    /// - Throws: When the connection closed, or the body failed part way (the response then has no end, and the
    ///   connection must close).
    static func write(_ response: Response, to channel: any Channel) async throws -> EventLoopFuture<Void> {
        let writer = ChannelResponseWriter(channel: channel, head: response.head)
        do {
            try await response.body.write(writer)
        } catch {
            // What was written before the failure (an error event, say) still goes out before the connection closes.
            writer.writePending()
            channel.flush()
            throw error
        }
        guard let end = writer.end else { throw ChannelError.outputClosed }
        return end
    }

    /// Writes one body buffer (with the head before the first); it leaves at the end of this turn of the event loop.
    func write(_ buffer: ByteBuffer) async throws {
        try ensureActive()
        writeHead()
        if channel.isWritable {
            if pending == nil {
                pending = buffer
                writePendingAtEndOfTurn()
            } else {
                pending!.writeImmutableBuffer(buffer)
                if pending!.readableBytes >= Self.mostGathered {
                    // A producer that never suspends must still meet the channel's backpressure: hand what it wrote
                    // to the channel, so that `isWritable` turns false once the socket falls behind.
                    writePending()
                    channel.flush()
                }
            }
        } else {
            // A slow reader: wait until this part reached the socket instead of queueing more in memory.
            writePending()
            let written = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(HTTPResponsePart.body(buffer), promise: written)
            try await written.futureResult.get()
        }
    }

    /// Ends the response (with the head, when no body was written).
    func finish(_ trailingHeaders: HTTPFields?) async throws {
        try ensureActive()
        writeHead()
        writePending()
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(HTTPResponsePart.end(trailingHeaders), promise: written)
        self.end = written.futureResult
        if !channel.isWritable { try await written.futureResult.get() }
    }

    private func writeHead() {
        if let head {
            channel.write(HTTPResponsePart.head(head), promise: nil)
            self.head = nil
        }
    }

    /// Writes and flushes the gathered body bytes once the jobs already queued on the loop (this task's next steps
    /// among them, if it does not suspend) have run.
    private func writePendingAtEndOfTurn() {
        channel.eventLoop.assumeIsolated().execute { [self] in
            writePending()
            channel.flush()
        }
    }

    /// Passes the gathered body bytes to the channel, unflushed.
    private func writePending() {
        if let pending {
            channel.write(HTTPResponsePart.body(pending), promise: nil)
            self.pending = nil
        }
    }

    private func ensureActive() throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
    }
}

/// The `Date` header's value, formatted once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    /// The current time as an IMF-fixdate (RFC 9110 §5.6.7), such as `Sat, 21 Nov 2026 16:20:00 GMT`.
    static func now() -> String {
        let second = time(nil)
        return cache.withLock { cache in
            if cache.second != second {
                cache = (second, format(second))
            }
            return cache.text
        }
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ second: Int) -> String {
        var time = second
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
