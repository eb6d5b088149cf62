import GRPCCore
import SluiceInference
import SluiceProtos
import Synchronization

/// One `ChatStream` RPC, made on behalf of ``InferenceGRPCClient/openChatStream(_:)``.
///
/// grpc-swift scopes a streaming response to a closure, while ``InferenceService/openChatStream(_:)`` must return the
/// stream. So the caller enqueues a job and waits; the client's `run()` runs the job in a child task that makes the
/// scoped call, hands the caller a ``ChatStream`` once `start` has arrived, and then forwards every later message into
/// the stream's continuation until the RPC ends. Failures before `start` are thrown to the caller; failures after it
/// end the stream with the mapped ``InferenceError``.
///
/// The job is cancelled when the caller is cancelled while waiting, or when the consumer stops iterating (the
/// stream's `onTermination`): a watcher child task then returns, and the job cancels the RPC.
final class ChatStreamJob: Sendable {
    private let request: ClientRequest<Sluice_Inference_V1_ChatRequest>
    private let options: CallOptions
    private let state = Mutex(State())

    /// Creates a job.
    ///
    /// - Parameters:
    ///   - request: The request message with its metadata.
    ///   - options: The call options; the timeout is the whole stream's deadline.
    init(request: ClientRequest<Sluice_Inference_V1_ChatRequest>, options: CallOptions) {
        self.request = request
        self.options = options
    }

    /// Waits, on the caller's side, until the stream opens or fails.
    ///
    /// - Parameter enqueue: Hands the job to the runner; returns `false` when the runner no longer accepts jobs.
    /// - Returns: The open stream.
    /// - Throws: ``InferenceError``: the server's error before `start`, `cancelled`, or `upstreamUnavailable` when
    ///   the client is shut down.
    func open(enqueue: () -> Bool) async throws -> ChatStream {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard state.withLock({ $0.registerOpener(continuation) }) else {
                    continuation.resume(
                        throwing: InferenceError(.cancelled, "The stream was cancelled before it opened")
                    )
                    return
                }
                if !enqueue() {
                    resolve(.failure(InferenceError(.upstreamUnavailable, "The inference client is shutting down")))
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Runs the RPC; returns when it has ended or the job was cancelled.
    ///
    /// - Parameter client: The generated client to call with.
    func run<Transport: ClientTransport>(with client: Sluice_Inference_V1_InferenceService.Client<Transport>) async {
        if !Task.isCancelled {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.call(client) }
                group.addTask { await self.waitUntilCancelled() }
                await group.next()
                group.cancelAll()
            }
        }
        // Only has an effect when nothing else resolved the caller, for example when the runner was cancelled.
        resolve(.failure(InferenceError(.cancelled, "The stream was cancelled before it opened")))
    }

    private func call<Transport: ClientTransport>(
        _ client: Sluice_Inference_V1_InferenceService.Client<Transport>
    ) async {
        let outcome: Result<Void, InferenceError>
        do {
            try await client.chatStream(request: request, options: options) { response in
                try await self.forward(response)
            }
            // A cancelled read ends the messages like a clean end does; only a status ends a stream cleanly.
            outcome = Task.isCancelled ? .failure(InferenceError(.cancelled, "The stream was cancelled")) : .success(())
        } catch {
            outcome = .failure(InferenceError(wireError: error))
        }
        if let events = state.withLock({ $0.takeEvents() }) {
            switch outcome {
            case .success: events.finish()
            case .failure(let error): events.finish(throwing: error)
            }
        } else if case .failure(let error) = outcome {
            resolve(.failure(error))
        }
    }

    /// Waits for `start`, hands the caller the stream, then forwards the events until the messages end.
    ///
    /// Finishing the events is left to ``call(_:)``, which alone knows how the RPC ended.
    private func forward(_ response: StreamingClientResponse<Sluice_Inference_V1_ChatStreamEvent>) async throws {
        var messages = response.messages.makeAsyncIterator()
        guard let first = try await messages.next() else {
            if Task.isCancelled { throw InferenceError(.cancelled, "The stream was cancelled before it opened") }
            throw InferenceError(.internal, "The inference stream ended before it started")
        }
        guard case .start(let start) = first.event else {
            throw InferenceError(.internal, "The inference stream did not begin with its start event")
        }
        guard let events = handOver(start) else { return }
        while let message = try await messages.next() {
            if case .terminated = events.yield(try ChatStreamEvent(proto: message)) { return }
        }
    }

    /// Hands the caller the open stream and returns the continuation to forward into, or `nil` when the caller no
    /// longer waits.
    ///
    /// The stream is made here so that nothing in the forwarding frame keeps it alive: once the consumer drops it, its
    /// `onTermination` cancels the job.
    private func handOver(
        _ start: Sluice_Inference_V1_StreamStart
    ) -> AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation? {
        let (events, continuation) = AsyncThrowingStream.makeStream(
            of: ChatStreamEvent.self,
            throwing: (any Error).self
        )
        continuation.onTermination = { termination in
            if case .cancelled = termination { self.cancel() }
        }
        let stream = ChatStream(
            id: start.id,
            created: start.created,
            servedBy: ServedBy(provider: start.provider, model: start.model, attempt: Int(start.attempt)),
            events: events
        )
        guard resolve(.success(stream)) else {
            continuation.finish()
            return nil
        }
        state.withLock { $0.events = continuation }
        return continuation
    }

    private func waitUntilCancelled() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if !state.withLock({ $0.registerCancelWaiter(continuation) }) { continuation.resume() }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Hands the caller its result, unless it already has one.
    ///
    /// - Returns: Whether the caller received this result.
    @discardableResult
    private func resolve(_ result: Result<ChatStream, InferenceError>) -> Bool {
        guard let opener = state.withLock({ $0.resolve() }) else { return false }
        opener.resume(with: result.mapError { $0 as any Error })
        return true
    }

    private func cancel() {
        let (opener, waiter) = state.withLock { $0.cancel() }
        opener?.resume(throwing: InferenceError(.cancelled, "The stream was cancelled before it opened"))
        waiter?.resume()
    }
}

extension ChatStreamJob {
    /// Who is waiting for the job: the caller until the stream opens, the watcher until the job is cancelled, and
    /// the consumer of the open stream.
    ///
    /// Each transition returns the continuations to resume, which the job resumes outside the lock.
    struct State {
        private var opener: CheckedContinuation<ChatStream, any Error>?
        private var isResolved = false
        private var isCancelled = false
        private var cancelWaiter: CheckedContinuation<Void, Never>?
        /// The open stream's continuation, once the caller has the stream.
        var events: AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation?

        /// Takes the open stream's continuation to finish it.
        mutating func takeEvents() -> AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation? {
            defer { events = nil }
            return events
        }

        /// Records the waiting caller; `false` when the job was cancelled first.
        mutating func registerOpener(_ continuation: CheckedContinuation<ChatStream, any Error>) -> Bool {
            guard !isResolved else { return false }
            opener = continuation
            return true
        }

        /// Takes the caller's continuation the first time the job is resolved.
        mutating func resolve() -> CheckedContinuation<ChatStream, any Error>? {
            guard !isResolved else { return nil }
            isResolved = true
            defer { opener = nil }
            return opener
        }

        /// Records the watcher; `false` when the job is already cancelled.
        mutating func registerCancelWaiter(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
            guard !isCancelled else { return false }
            cancelWaiter = continuation
            return true
        }

        /// Cancels once: takes a still-waiting caller and the watcher.
        mutating func cancel() -> (CheckedContinuation<ChatStream, any Error>?, CheckedContinuation<Void, Never>?) {
            guard !isCancelled else { return (nil, nil) }
            isCancelled = true
            let waitingOpener = resolve()
            defer { cancelWaiter = nil }
            return (waitingOpener, cancelWaiter)
        }
    }
}
