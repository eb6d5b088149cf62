import SluiceInference
import SluiceInferenceGRPC
import SluiceProtos
import Synchronization

extension ExchangeLine {
    /// Who waits for a call's messages.
    enum Waiter: Sendable {
        /// A plain call's caller.
        case answer(CheckedContinuation<Sluice_Inference_V1_ChatResponse, any Error>)
        /// A streamed call's caller, until `start` arrives.
        case opening(CheckedContinuation<ChatStream, any Error>)
        /// A streamed call's consumer.
        case streaming(AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation)

        /// Ends the wait with an error.
        func fail(_ error: some Error) {
            switch self {
            case .answer(let continuation): continuation.resume(throwing: error)
            case .opening(let continuation): continuation.resume(throwing: error)
            case .streaming(let continuation): continuation.finish(throwing: error)
            }
        }
    }

    /// What registering a call came to.
    enum Registration {
        /// The call is open; `isFirst` when no other call was, so the deadline watcher may be asleep.
        case registered(isFirst: Bool)
        /// The line has ended.
        case refused(InferenceError)
        /// The line was retired after the caller chose it.
        case retired
    }

    /// Thrown to a caller whose line was retired after it chose the line: nothing was sent, so the call can be made
    /// on the client's current line.
    struct Retired: Error {}

    /// What to do with a stream event.
    enum StreamEventAction {
        case ignore
        case open(CheckedContinuation<ChatStream, any Error>)
        case forward(AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation)
        case fail(InferenceError)
    }

    /// The open calls. Each transition returns what to resume, which the line resumes outside the lock.
    struct State {
        private var calls: [UInt64: (waiter: Waiter, deadline: ContinuousClock.Instant)] = [:]
        private var nextID: UInt64 = 1
        private var isRetired = false
        private var ended: InferenceError?

        var admits: Bool { !isRetired && ended == nil && calls.count < ExchangeSession.maxOpenCalls }

        var openCount: Int { calls.count }

        mutating func newCall(timeout: Duration) -> (UInt64, ContinuousClock.Instant) {
            defer { nextID += 1 }
            return (nextID, ContinuousClock.now.advanced(by: timeout))
        }

        mutating func register(_ id: UInt64, _ waiter: Waiter, deadline: ContinuousClock.Instant) -> Registration {
            if let ended { return .refused(ended) }
            if isRetired { return .retired }
            calls[id] = (waiter, deadline)
            return .registered(isFirst: calls.count == 1)
        }

        mutating func take(_ id: UInt64) -> Waiter? {
            calls.removeValue(forKey: id)?.waiter
        }

        mutating func streamEvent(_ id: UInt64, isStart: Bool) -> StreamEventAction {
            guard let call = calls[id] else { return .ignore }
            switch (call.waiter, isStart) {
            case (.opening(let opener), true):
                return .open(opener)
            case (.streaming(let continuation), false):
                return .forward(continuation)
            case (.answer, _):
                return .fail(InferenceError(.internal, "The inference service streamed a plain call"))
            default:
                return .fail(InferenceError(.internal, "The inference stream did not begin with start"))
            }
        }

        /// Turns an opening call into a streaming one; `false` when it is gone (cancelled meanwhile).
        mutating func startStreaming(
            _ id: UInt64,
            _ continuation: AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation
        ) -> Bool {
            guard let call = calls[id], case .opening = call.waiter else { return false }
            calls[id] = (.streaming(continuation), call.deadline)
            return true
        }

        func overdue(before cutoff: ContinuousClock.Instant) -> [UInt64] {
            calls.compactMap { $0.value.deadline < cutoff ? $0.key : nil }
        }

        mutating func retire() { isRetired = true }

        /// Retired with no call open: the stream can be half-closed.
        var isDone: Bool { isRetired && calls.isEmpty }

        mutating func end() -> [Waiter] {
            ended = InferenceError(.upstreamUnavailable, "The exchange stream to the inference service ended")
            defer { calls = [:] }
            return calls.values.map(\.waiter)
        }
    }
}
