import GRPCCore
import SluiceGRPCSupport
import SluiceInference
import SluiceInferenceGRPC
import SluiceProtos
import Synchronization

/// Serves one `Exchange` stream: the `Chat` and `ChatStream` calls it carries, each in its own task with its own
/// deadline.
///
/// The session reads the caller's messages in order. `start` opens a call in a new task (on the executor given, so a
/// call on an event loop's executor never changes threads); the call writes its answer, tagged with its number, to
/// the shared response stream and ends with `status` when it fails or streams. A streamed call posts its events to
/// the session's ``ExchangeOutbox``, which writes what was posted in one turn as one batch. `cancel` stops a call. A deadline
/// watcher cancels calls whose deadline passed, checking every ``deadlineResolution`` while calls are open and
/// sleeping otherwise.
///
/// The session ends when no more calls can come and the open ones have ended: after the caller half-closes the
/// stream, or once the server drains (calls already taken finish, new ones are refused with UNAVAILABLE). When the
/// stream's own deadline passes or the caller goes away, every open call is cancelled first.
final class ExchangeSession: Sendable {
    typealias Request = Sluice_Inference_V1_ExchangeRequest
    typealias Event = Sluice_Inference_V1_ExchangeEvent

    /// The most calls open at once on one stream; a call past it is refused with RESOURCE_EXHAUSTED.
    static let maxOpenCalls = 4096
    /// How often deadlines are checked while calls are open: a call is stopped at most this long after its deadline.
    static let deadlineResolution: Duration = .milliseconds(10)

    private let service: any InferenceService
    private let response: RPCWriter<Event>
    private let outbox = ExchangeOutbox<Event>()
    private let executor: (any TaskExecutor)?
    private let state = Mutex(State())
    private let openCalls = SweepSignal()

    /// Creates the session of one stream.
    ///
    /// - Parameters:
    ///   - service: The inference implementation the calls go to.
    ///   - response: The stream's response writer, shared by the calls.
    ///   - executor: Where the calls' tasks run; `nil` for the global executor.
    init(service: any InferenceService, response: RPCWriter<Event>, executor: (any TaskExecutor)?) {
        self.service = service
        self.response = response
        self.executor = executor
    }

    /// Serves the stream until it is over; see the type's description.
    ///
    /// - Parameters:
    ///   - requests: The caller's messages.
    ///   - context: The RPC's context, whose cancellation says the deadline passed, the caller left or the server
    ///     quiesces.
    ///   - drain: The server's drain flag, which tells a quiesce from the rest.
    func run(
        requests: RPCAsyncSequence<Request, any Error>,
        context: ServerContext,
        drain: ServerDrain?
    ) async {
        await withDiscardingTaskGroup { writing in
            writing.addTask { await self.outbox.run(writer: self.response) }
            await serve(requests: requests, context: context, drain: drain)
            // Every call has ended and nothing reads any more: what remains is written, then the stream ends.
            outbox.close()
        }
    }

    private func serve(
        requests: RPCAsyncSequence<Request, any Error>,
        context: ServerContext,
        drain: ServerDrain?
    ) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.enforceDeadlines() }
            group.addTask {
                do {
                    try await context.cancellation.cancelled
                } catch {
                    return  // the session is over
                }
                if drain?.isDraining == true {
                    self.stopAccepting()
                } else {
                    self.stopAll(.streamEnded)
                }
            }
            group.addTask {
                do {
                    try await self.read(requests)
                    self.stopAccepting()
                } catch {
                    self.stopAll(.streamEnded)
                }
            }
            await withTaskCancellationHandler {
                await self.waitUntilOver()
            } onCancel: {
                self.stopAll(.streamEnded)
            }
            group.cancelAll()
        }
    }

    // MARK: - Reading

    private func read(_ requests: RPCAsyncSequence<Request, any Error>) async throws {
        for try await message in requests {
            switch message.kind {
            case .start(let call):
                try await start(message.callID, call)
            case .cancel:
                stop(message.callID, .cancelled)
            case nil:
                try await reject(message.callID, .invalidArgument, "An exchange message must start or cancel a call")
            }
        }
    }

    private func start(_ id: UInt64, _ call: Sluice_Inference_V1_ExchangeCall) async throws {
        guard id != 0 else {
            return try await reject(id, .invalidArgument, "call_id must not be 0")
        }
        guard call.timeoutMs > 0 else {
            return try await reject(id, .invalidArgument, "Call \(id) has no deadline: set timeout_ms")
        }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(call.timeoutMs))
        let admission = state.withLock { $0.admit(id, deadline: deadline) }
        switch admission {
        case .admitted(let isFirst):
            if isFirst { openCalls.signal() }
        case .duplicate:
            return try await reject(id, .invalidArgument, "Call \(id) is already open on this stream")
        case .full:
            return try await reject(
                id,
                .resourceExhausted,
                "This stream already carries \(Self.maxOpenCalls) calls; open another"
            )
        case .closed:
            return try await reject(id, .unavailable, "The inference service is shutting down")
        }
        let task = Task(executorPreference: executor) {
            await self.perform(id, call)
            self.finish(id)
        }
        if state.withLock({ $0.attach(task, to: id) }) { task.cancel() }
    }

    private func reject(_ id: UInt64, _ code: RPCError.Code, _ message: String) async throws {
        try await outbox.post(Self.event(id, status: Self.status(code, message)))
    }

    // MARK: - Calls

    private func perform(_ id: UInt64, _ call: Sluice_Inference_V1_ExchangeCall) async {
        do {
            let request = try ChatRequest(proto: call.request)
            if call.stream {
                let stream = try await service.openChatStream(request)
                try await outbox.post(Self.event(id, Sluice_Inference_V1_ChatStreamEvent(startOf: stream)))
                var isFirstDelta = true
                for try await event in stream.events {
                    try await outbox.post(
                        Self.event(id, Sluice_Inference_V1_ChatStreamEvent(event, isFirstDelta: isFirstDelta))
                    )
                    if case .delta = event { isFirstDelta = false }
                }
                try Task.checkCancellation()
                try await outbox.post(Self.event(id, status: Sluice_Inference_V1_ExchangeStatus()))
            } else {
                let answer = try await service.chat(request)
                try Task.checkCancellation()
                var event = Event()
                event.callID = id
                event.response = Sluice_Inference_V1_ChatResponse(answer)
                // One message, written at once: waiting for the outbox's writer would only add a task switch.
                try await response.write(event)
            }
        } catch {
            let reason = state.withLock { $0.calls[id]?.stop }
            let status = Self.event(id, status: Self.status(for: error, stoppedBecause: reason))
            // After a stream's events the status must queue behind them. A write that fails means the stream is
            // gone; nobody is left to tell.
            if call.stream { try? await outbox.post(status) } else { try? await response.write(status) }
        }
    }

    private func finish(_ id: UInt64) {
        let waiter = state.withLock { $0.finish(id) }
        waiter?.resume()
    }

    private func stop(_ id: UInt64, _ reason: StopReason) {
        let task = state.withLock { $0.stop(id, reason) }
        task?.cancel()
    }

    private func stopAccepting() {
        let waiter = state.withLock { $0.stopAccepting() }
        waiter?.resume()
    }

    private func stopAll(_ reason: StopReason) {
        let (tasks, waiter) = state.withLock { $0.stopAll(reason) }
        for task in tasks { task.cancel() }
        waiter?.resume()
    }

    private func waitUntilOver() async {
        await withCheckedContinuation { continuation in
            if !state.withLock({ $0.registerOverWaiter(continuation) }) { continuation.resume() }
        }
    }

    // MARK: - Deadlines

    private func enforceDeadlines() async {
        while await openCalls.wait() {
            var isAnyOpen = true
            while isAnyOpen {
                do {
                    try await Task.sleep(for: Self.deadlineResolution)
                } catch {
                    return
                }
                let now = ContinuousClock.now
                let (overdue, remaining) = state.withLock { ($0.stopOverdue(at: now), $0.calls.count) }
                for task in overdue { task.cancel() }
                isAnyOpen = remaining > 0
            }
        }
    }

    // MARK: - Messages

    private static func event(_ id: UInt64, _ chatEvent: Sluice_Inference_V1_ChatStreamEvent) -> Event {
        var event = Event()
        event.callID = id
        event.event = chatEvent
        return event
    }

    private static func event(_ id: UInt64, status: Sluice_Inference_V1_ExchangeStatus) -> Event {
        var event = Event()
        event.callID = id
        event.status = status
        return event
    }

    private static func status(_ code: RPCError.Code, _ message: String) -> Sluice_Inference_V1_ExchangeStatus {
        var status = Sluice_Inference_V1_ExchangeStatus()
        status.code = Int32(code.rawValue)
        status.message = message
        return status
    }

    /// The status a plain call would have ended with after throwing `error`.
    static func status(for error: any Error, stoppedBecause reason: StopReason?) -> Sluice_Inference_V1_ExchangeStatus {
        let rpcError: RPCError
        switch (reason, error) {
        case (.deadline?, _):
            rpcError = RPCError(code: .deadlineExceeded, message: "The RPC's deadline passed")
        case (.streamEnded?, _):
            rpcError = RPCError(code: .cancelled, message: "The exchange stream ended")
        case (_, let error as InferenceError):
            rpcError = RPCError(error)
        case (_, let error as RPCError):
            rpcError = error
        case (_, is CancellationError):
            rpcError = RPCError(InferenceError(.cancelled, "The call was cancelled"))
        default:
            rpcError = RPCError(InferenceError(.internal, "The inference service failed unexpectedly"))
        }
        var status = Self.status(rpcError.code, rpcError.message)
        for (key, value) in rpcError.metadata {
            if case .string(let text) = value, status.metadata[key] == nil { status.metadata[key] = text }
        }
        return status
    }
}

extension ExchangeSession {
    /// Why a call was stopped before it ended by itself.
    enum StopReason: Sendable {
        /// Its deadline passed.
        case deadline
        /// The caller sent `cancel`.
        case cancelled
        /// The stream ended under it: its deadline passed, the caller left, or the session was cancelled.
        case streamEnded
    }

    /// An open call.
    struct Call {
        /// Its task, once started.
        var task: Task<Void, Never>?
        /// When it must be over.
        let deadline: ContinuousClock.Instant
        /// Why it was stopped, once it was.
        var stop: StopReason?
    }

    /// What became of a `start`.
    enum Admission {
        /// The call is open; `isFirst` when no other call was, so the deadline watcher may be asleep.
        case admitted(isFirst: Bool)
        case duplicate
        case full
        case closed
    }

    /// The open calls and who waits on them. Each transition returns what to resume or cancel, outside the lock.
    struct State {
        var calls: [UInt64: Call] = [:]
        private var accepting = true
        private var overWaiter: CheckedContinuation<Void, Never>?

        mutating func admit(_ id: UInt64, deadline: ContinuousClock.Instant) -> Admission {
            guard accepting else { return .closed }
            guard calls[id] == nil else { return .duplicate }
            guard calls.count < ExchangeSession.maxOpenCalls else { return .full }
            calls[id] = Call(task: nil, deadline: deadline, stop: nil)
            return .admitted(isFirst: calls.count == 1)
        }

        /// Records a started call's task; `true` when the call was stopped before, so the task must be cancelled.
        mutating func attach(_ task: Task<Void, Never>, to id: UInt64) -> Bool {
            guard calls[id] != nil else { return false }
            calls[id]?.task = task
            return calls[id]?.stop != nil
        }

        mutating func stop(_ id: UInt64, _ reason: StopReason) -> Task<Void, Never>? {
            guard let call = calls[id], call.stop == nil else { return nil }
            calls[id]?.stop = reason
            return call.task
        }

        mutating func stopOverdue(at now: ContinuousClock.Instant) -> [Task<Void, Never>] {
            var tasks: [Task<Void, Never>] = []
            for (id, call) in calls where call.stop == nil && call.deadline <= now {
                calls[id]?.stop = .deadline
                if let task = call.task { tasks.append(task) }
            }
            return tasks
        }

        mutating func stopAccepting() -> CheckedContinuation<Void, Never>? {
            accepting = false
            return takeOverWaiterIfOver()
        }

        mutating func stopAll(_ reason: StopReason) -> ([Task<Void, Never>], CheckedContinuation<Void, Never>?) {
            accepting = false
            var tasks: [Task<Void, Never>] = []
            for (id, call) in calls where call.stop == nil {
                calls[id]?.stop = reason
                if let task = call.task { tasks.append(task) }
            }
            return (tasks, takeOverWaiterIfOver())
        }

        mutating func finish(_ id: UInt64) -> CheckedContinuation<Void, Never>? {
            calls[id] = nil
            return takeOverWaiterIfOver()
        }

        /// Records the waiter for the session's end; `false` when it is already over.
        mutating func registerOverWaiter(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
            if !accepting && calls.isEmpty { return false }
            overWaiter = continuation
            return true
        }

        private mutating func takeOverWaiterIfOver() -> CheckedContinuation<Void, Never>? {
            guard !accepting, calls.isEmpty else { return nil }
            defer { overWaiter = nil }
            return overWaiter
        }
    }
}
