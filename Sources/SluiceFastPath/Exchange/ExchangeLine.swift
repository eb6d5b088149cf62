import GRPCCore
import SluiceInference
import SluiceInferenceGRPC
import SluiceProtos
import Synchronization

/// One `Exchange` stream, from the caller's side: the calls of an ``InferenceGRPCClient`` that travel over it.
///
/// A caller sends `start` through ``chat(_:timeout:)`` or ``openChatStream(_:timeout:)`` and waits for the messages
/// with its number, which ``run(with:options:metadata:)`` (a job of the client's `run()`) routes to it. A caller that is
/// cancelled, and the consumer of a stream who stops iterating, send `cancel`. When the stream ends or breaks, every
/// call still open fails with `upstreamUnavailable`, as a call on a broken connection does.
///
/// The service enforces each call's deadline; the line also fails a call locally once its deadline is
/// ``deadlineGrace`` past, in case the service cannot answer at all.
///
/// A line takes new calls until ``retire()``: the client retires it once it is older than its admission window, so
/// that the stream's own deadline always outlives its calls, or when the client shuts down. A retired line
/// half-closes the stream once its last call has ended (until then it can still send `cancel`), and the service then
/// ends it.
///
/// Messages are queued for the stream inside the state's lock, so a `start` or `cancel` is never queued after the
/// half-close.
final class ExchangeLine: Sendable {
    typealias Request = Sluice_Inference_V1_ExchangeRequest
    typealias Event = Sluice_Inference_V1_ExchangeEvent

    /// How long after its deadline a call with no answer fails on the caller's side.
    static let deadlineGrace: Duration = .milliseconds(100)

    /// Until when the line takes new calls.
    let admitsUntil: ContinuousClock.Instant
    private let outbound: AsyncStream<Request>.Continuation
    private let messages: AsyncStream<Request>
    private let state = Mutex(State())
    private let openCalls = SweepSignal()

    /// Creates a line that is not open yet; calls made before ``run(with:options:metadata:)`` wait in its queue.
    ///
    /// - Parameter admitsUntil: Until when the line takes new calls.
    init(admitsUntil: ContinuousClock.Instant) {
        self.admitsUntil = admitsUntil
        (messages, outbound) = AsyncStream.makeStream(of: Request.self, bufferingPolicy: .unbounded)
    }

    /// Whether a new call may use this line: it is not retired, has not ended, and has room.
    func admits(at now: ContinuousClock.Instant) -> Bool {
        now < admitsUntil && state.withLock { $0.admits }
    }

    /// Stops taking calls; the stream is half-closed once the open calls have ended.
    func retire() {
        state.withLock { state in
            state.retire()
            closeIfDone(state)
        }
    }

    /// Half-closes the stream when the line is retired and no call is open; call inside the state's lock.
    private func closeIfDone(_ state: State) {
        if state.isDone { outbound.finish() }
    }

    // MARK: - Calls

    /// Makes a plain `Chat` call on the line.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - timeout: The call's deadline.
    /// - Returns: The answer.
    /// - Throws: ``InferenceError``: the service's error, `cancelled`, `upstreamTimeout`, or `upstreamUnavailable`
    ///   when the line ended first; ``Retired`` when the line was retired before the call was sent.
    func chat(_ request: Sluice_Inference_V1_ChatRequest, timeout: Duration) async throws -> ChatResponse {
        let (id, deadline) = state.withLock { $0.newCall(timeout: timeout) }
        let answer = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                open(id, .answer(continuation), deadline: deadline, request: request, stream: false, timeout: timeout)
            }
        } onCancel: {
            cancel(id, reason: InferenceError(.cancelled, "The call to the inference service was cancelled"))
        }
        return try ChatResponse(proto: answer)
    }

    /// Makes a `ChatStream` call on the line; returns once `start` has arrived.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - timeout: The deadline of the whole stream.
    /// - Returns: The open stream; dropping it (or stopping iterating) cancels the call.
    /// - Throws: ``InferenceError``, as for ``chat(_:timeout:)``.
    func openChatStream(_ request: Sluice_Inference_V1_ChatRequest, timeout: Duration) async throws -> ChatStream {
        let (id, deadline) = state.withLock { $0.newCall(timeout: timeout) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                open(id, .opening(continuation), deadline: deadline, request: request, stream: true, timeout: timeout)
            }
        } onCancel: {
            cancel(id, reason: InferenceError(.cancelled, "The stream was cancelled before it opened"))
        }
    }

    private func open(
        _ id: UInt64,
        _ waiter: Waiter,
        deadline: ContinuousClock.Instant,
        request: Sluice_Inference_V1_ChatRequest,
        stream: Bool,
        timeout: Duration
    ) {
        var message = Request()
        message.callID = id
        message.start.request = request
        message.start.stream = stream
        let (seconds, attoseconds) = timeout.components
        message.start.timeoutMs = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        let registration = state.withLock { state in
            let registration = state.register(id, waiter, deadline: deadline)
            if case .registered = registration { outbound.yield(message) }
            return registration
        }
        switch registration {
        case .refused(let error):
            waiter.fail(error)
            return
        case .retired:
            waiter.fail(Retired())
            return
        case .registered(let isFirst):
            if isFirst { openCalls.signal() }
        }
        if Task.isCancelled {
            cancel(id, reason: InferenceError(.cancelled, "The call to the inference service was cancelled"))
        }
    }

    /// Ends a call on the caller's side and tells the service to stop it.
    private func cancel(_ id: UInt64, reason: InferenceError) {
        takeAndCancel(id)?.fail(reason)
    }

    /// Takes a call out of the line and queues its `cancel`; `nil` when it was no longer open.
    private func takeAndCancel(_ id: UInt64) -> Waiter? {
        state.withLock { state in
            guard let waiter = state.take(id) else { return nil }
            var message = Request()
            message.callID = id
            message.cancel = true
            outbound.yield(message)
            closeIfDone(state)
            return waiter
        }
    }

    /// Takes a call that ended out of the line; `nil` when it was no longer open.
    private func take(_ id: UInt64) -> Waiter? {
        state.withLock { state in
            let waiter = state.take(id)
            closeIfDone(state)
            return waiter
        }
    }

    // MARK: - Running

    /// Holds the stream open and routes its messages until it ends; then fails the calls still open.
    ///
    /// - Parameters:
    ///   - client: The generated client to call with.
    ///   - options: The stream's call options; its deadline must outlive the admission window plus the longest call.
    ///   - metadata: The stream's metadata (the service credential).
    func run<Transport: ClientTransport>(
        with client: Sluice_Inference_V1_InferenceService.Client<Transport>,
        options: CallOptions,
        metadata: Metadata
    ) async {
        let ending: InferenceError
        do {
            ending = try await withThrowingTaskGroup(of: InferenceError?.self) { group in
                group.addTask {
                    await self.enforceDeadlines()
                    return nil
                }
                group.addTask {
                    try await client.exchange(
                        request: StreamingClientRequest(of: Request.self, metadata: metadata) { writer in
                            for await message in self.messages { try await writer.write(message) }
                        },
                        options: options
                    ) { response in
                        for try await event in response.messages { self.route(event) }
                    }
                    return InferenceError(.upstreamUnavailable, "The inference service ended the exchange stream")
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                return InferenceError(.cancelled, "The exchange stream was cancelled")
            }
        } catch {
            ending =
                Task.isCancelled
                ? InferenceError(.cancelled, "The exchange stream was cancelled") : InferenceError(wireError: error)
        }
        outbound.finish()
        let waiters = state.withLock { $0.end() }
        for waiter in waiters { waiter.fail(ending) }
    }

    private func route(_ event: Event) {
        let id = event.callID
        switch event.kind {
        case .response(let answer):
            guard let waiter = take(id) else { return }
            switch waiter {
            case .answer(let continuation): continuation.resume(returning: answer)
            default: waiter.fail(InferenceError(.internal, "The inference service answered a stream as a plain call"))
            }
        case .event(let message):
            routeStreamEvent(id, message)
        case .status(let status):
            guard let waiter = take(id) else { return }
            if status.code == 0, case .streaming(let events) = waiter {
                events.finish()
                return
            }
            if status.code == 0 {
                waiter.fail(InferenceError(.internal, "The inference service ended the call without an answer"))
                return
            }
            var metadata: Metadata = [:]
            for (key, value) in status.metadata { metadata.addString(value, forKey: key) }
            let code = Status.Code(rawValue: Int(status.code)).flatMap(RPCError.Code.init) ?? .unknown
            waiter.fail(InferenceError(wireError: RPCError(code: code, message: status.message, metadata: metadata)))
        case nil:
            return
        }
    }

    private func routeStreamEvent(_ id: UInt64, _ message: Sluice_Inference_V1_ChatStreamEvent) {
        var isStart = false
        if case .start = message.event { isStart = true }
        let action = state.withLock { [isStart] in $0.streamEvent(id, isStart: isStart) }
        switch action {
        case .ignore:
            return
        case .open(let opener):
            let (events, continuation) = AsyncThrowingStream.makeStream(
                of: ChatStreamEvent.self,
                throwing: (any Error).self
            )
            continuation.onTermination = { termination in
                if case .cancelled = termination {
                    self.cancel(id, reason: InferenceError(.cancelled, "The stream was cancelled"))
                }
            }
            let start = message.start
            let stream = ChatStream(
                id: start.id,
                created: start.created,
                servedBy: ServedBy(provider: start.provider, model: start.model, attempt: Int(start.attempt)),
                events: events
            )
            guard state.withLock({ $0.startStreaming(id, continuation) }) else {
                continuation.finish()
                return
            }
            opener.resume(returning: stream)
        case .forward(let continuation):
            do {
                continuation.yield(try ChatStreamEvent(proto: message))
            } catch {
                cancel(id, reason: InferenceError(wireError: error))
            }
        case .fail(let error):
            takeAndCancel(id)?.fail(error)
        }
    }

    // MARK: - Deadlines

    private func enforceDeadlines() async {
        while await openCalls.wait() {
            var isAnyOpen = true
            while isAnyOpen {
                do {
                    try await Task.sleep(for: ExchangeSession.deadlineResolution)
                } catch {
                    return
                }
                let cutoff = ContinuousClock.now.advanced(by: .zero - Self.deadlineGrace)
                let overdue = state.withLock { $0.overdue(before: cutoff) }
                for id in overdue {
                    takeAndCancel(id)?.fail(
                        InferenceError(.upstreamTimeout, "The inference service did not answer in time")
                    )
                }
                isAnyOpen = state.withLock { $0.openCount > 0 }
            }
        }
    }
}
