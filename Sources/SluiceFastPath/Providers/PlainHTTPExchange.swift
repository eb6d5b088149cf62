import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// One request and its response on a ``PlainHTTPClient`` connection: the bridge between the connection's event loop
/// and the task reading the answer.
///
/// The connection's handler feeds it (head, body parts, end, or a failure); the reader awaits the head, then body
/// parts, asking the connection for more only when it has read everything received so far. A failure from either
/// side (the upstream closing, a timeout, the reader's cancellation or the reader going away) ends the exchange and
/// closes the connection; only an exchange that ended cleanly returns its connection to the pool.
final class PlainHTTPExchange: Sendable {
    private struct State {
        var head: HTTPResponseHead?
        var headWaiter: CheckedContinuation<Void, any Error>?
        var buffered: CircularBuffer<ByteBuffer> = []
        var bodyWaiter: CheckedContinuation<ByteBuffer?, any Error>?
        var ended = false
        var failure: (any Error)?
        var onFinish: [@Sendable () -> Void] = []

        var isFinished: Bool { ended || failure != nil }
    }

    /// The connection the exchange runs on.
    let channel: any Channel
    private let state = Mutex(State())

    init(channel: any Channel) {
        self.channel = channel
    }

    // MARK: - Reader side

    /// Waits for the response head.
    func head() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.head != nil { return .success(()) }
                    if let failure = state.failure { return .failure(failure) }
                    state.headWaiter = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            fail(CancellationError())
        }
    }

    /// The response head; call after ``head()`` returned.
    var responseHead: HTTPResponseHead {
        state.withLock { $0.head ?? HTTPResponseHead(version: .http1_1, status: .internalServerError) }
    }

    /// The next part of the body, or `nil` after the last.
    func next() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                let outcome = state.withLock { state -> Result<ByteBuffer?, any Error>? in
                    if let part = state.buffered.popFirst() { return .success(part) }
                    if state.ended { return .success(nil) }
                    if let failure = state.failure { return .failure(failure) }
                    state.bodyWaiter = continuation
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome)
                } else {
                    channel.read()
                }
            }
        } onCancel: {
            fail(CancellationError())
        }
    }

    /// The whole body.
    ///
    /// - Parameter maximum: The most bytes accepted.
    /// - Throws: `NIOTooManyBytesError` past `maximum`, or the exchange's failure.
    func collect(upTo maximum: Int) async throws -> ByteBuffer {
        var first = try await next() ?? ByteBuffer()
        while var part = try await next() {
            guard first.readableBytes + part.readableBytes <= maximum else {
                fail(NIOTooManyBytesError(maxBytes: maximum))
                throw NIOTooManyBytesError(maxBytes: maximum)
            }
            first.writeBuffer(&part)
        }
        guard first.readableBytes <= maximum else { throw NIOTooManyBytesError(maxBytes: maximum) }
        return first
    }

    /// Ends the exchange, closing its connection, unless it already ended; for a reader that stops early.
    func abandon() {
        fail(CancellationError())
    }

    // MARK: - Connection side

    /// Whether the reader is waiting for something the connection has not delivered yet.
    var isAwaitingData: Bool {
        state.withLock { !$0.isFinished && ($0.head == nil || $0.bodyWaiter != nil) }
    }

    /// Registers work to run once the exchange ends, cleanly or not.
    func onFinish(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            guard !state.isFinished else { return true }
            state.onFinish.append(body)
            return false
        }
        if runNow { body() }
    }

    func receiveHead(_ head: HTTPResponseHead) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.isFinished, state.head == nil else { return nil }
            state.head = head
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        waiter?.resume()
    }

    func receiveBody(_ part: ByteBuffer) {
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard !state.isFinished else { return nil }
            if let waiter = state.bodyWaiter {
                state.bodyWaiter = nil
                return waiter
            }
            state.buffered.append(part)
            return nil
        }
        waiter?.resume(returning: part)
    }

    func receiveEnd() {
        let (waiter, callbacks) = state.withLock {
            state -> (CheckedContinuation<ByteBuffer?, any Error>?, [@Sendable () -> Void]) in
            guard !state.isFinished else { return (nil, []) }
            state.ended = true
            defer {
                state.bodyWaiter = nil
                state.onFinish = []
            }
            return (state.bodyWaiter, state.onFinish)
        }
        waiter?.resume(returning: nil)
        for callback in callbacks { callback() }
    }

    /// Ends the exchange with an error and closes the connection, unless the exchange already ended.
    func fail(_ error: any Error) {
        let taken = state.withLock {
            state -> (
                CheckedContinuation<Void, any Error>?, CheckedContinuation<ByteBuffer?, any Error>?,
                [@Sendable () -> Void]
            )? in
            guard !state.isFinished else { return nil }
            state.failure = error
            defer {
                state.headWaiter = nil
                state.bodyWaiter = nil
                state.onFinish = []
            }
            return (state.headWaiter, state.bodyWaiter, state.onFinish)
        }
        guard let (headWaiter, bodyWaiter, callbacks) = taken else { return }
        channel.close(promise: nil)
        headWaiter?.resume(throwing: error)
        bodyWaiter?.resume(throwing: error)
        for callback in callbacks { callback() }
    }
}

/// Feeds a connection's responses to the current ``PlainHTTPExchange``, times out an upstream that goes quiet while
/// the exchange waits, and returns the connection to its pool after a clean end; lives on the connection's event loop.
final class PlainHTTPResponseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private let readTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var exchange: PlainHTTPExchange?
    private var release: (@Sendable (any Channel) -> Void)?
    private var keepAlive = true
    private var lastActivity = NIODeadline.now()
    private var timeoutCheck: Scheduled<Void>?

    /// Creates a handler.
    ///
    /// - Parameter readTimeout: How long the upstream may send nothing while the exchange waits for it.
    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    /// Makes `exchange` the one the next response belongs to, and starts its read timeout.
    func begin(_ exchange: PlainHTTPExchange, release: @escaping @Sendable (any Channel) -> Void) {
        self.exchange = exchange
        self.release = release
        keepAlive = true
        lastActivity = .now()
        scheduleTimeoutCheck(at: lastActivity + readTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timeoutCheck?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes no request asked for: the connection cannot be trusted any more.
            context.close(promise: nil)
            return
        }
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            exchange.receiveHead(head)
        case .body(let part):
            exchange.receiveBody(part)
        case .end:
            end()
            let release = self.release
            self.release = nil
            exchange.receiveEnd()
            if keepAlive, let release {
                // Reading stays on while the connection waits in the pool: an upstream that closes it then (its
                // keep-alive timeout) is noticed and the connection not used again, and the next exchange need not
                // switch reading back on (two epoll_ctl calls per exchange).
                context.read()
                release(context.channel)
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// A reader asking for more starts the quiet period afresh: time it spent not asking is not the upstream's.
    func read(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.read()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let exchange, exchange.isAwaitingData { context.read() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.fail(HTTPClientError.remoteConnectionClosed)
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.fail(error)
        end()
        context.close(promise: nil)
    }

    private func end() {
        exchange = nil
        timeoutCheck?.cancel()
        timeoutCheck = nil
    }

    private func scheduleTimeoutCheck(at deadline: NIODeadline) {
        guard let context else { return }
        timeoutCheck?.cancel()
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            checkTimeout()
        }
    }

    private func checkTimeout() {
        timeoutCheck = nil
        guard let exchange else { return }
        let due = lastActivity + readTimeout
        if due > .now() {
            scheduleTimeoutCheck(at: due)
        } else if exchange.isAwaitingData {
            // Only a reader that waits is timed out: one that reads slowly has simply not asked for more.
            exchange.fail(HTTPClientError.readTimeout)
            end()
        } else {
            scheduleTimeoutCheck(at: .now() + readTimeout)
        }
    }
}
