package import GRPCCore
import Synchronization

/// Gathers what the calls of one `Exchange` stream write, so that the messages written in one turn of the executor
/// reach the transport together: one flush, and on the socket one write, instead of one per message.
///
/// Calls ``post(_:)`` their messages; ``run(writer:)`` waits for the first, then writes everything posted by the time
/// it runs as one batch. A post only wakes the writer, which takes the messages when its task runs, after the poster's
/// turn of the executor: a streamed answer whose events arrive together (one upstream read often carries the stream's
/// start, its events and its end) thus leaves in one write, its first message included.
///
/// Posting returns at once while fewer than ``highWater`` messages wait; past that, posters wait until the writer has
/// taken them, so a caller that stops reading holds the calls back, as per-message writes would. When a write fails
/// (the stream is gone), waiting and later posters get its error.
package final class ExchangeOutbox<Message: Sendable>: Sendable {
    /// How many messages may wait before posters wait too.
    package static var highWater: Int { 1024 }

    private let state = Mutex(State())

    /// Creates an empty, open outbox.
    package init() {}

    /// Queues a message for the next batch; waits first while ``highWater`` messages are waiting.
    ///
    /// - Throws: The writer's error once writing has failed.
    package func post(_ message: Message) async throws {
        while true {
            let outcome = try state.withLock { state -> PostOutcome in
                if let failure = state.failure { throw failure }
                if state.pending.count >= Self.highWater { return .full }
                state.pending.append(message)
                guard let writer = state.writer else { return .queued }
                state.writer = nil
                return .wakeWriter(writer)
            }
            switch outcome {
            case .queued:
                return
            case .wakeWriter(let writer):
                writer.resume()
                return
            case .full:
                try await waitForRoom()
            }
        }
    }

    private func waitForRoom() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let now = state.withLock { state -> Result<Void, any Error>? in
                if let failure = state.failure { return .failure(failure) }
                if state.pending.count < Self.highWater { return .success(()) }
                state.roomWaiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(with: now) }
        }
    }

    /// Stops taking messages; ``run(writer:)`` writes what is queued and returns. Call once nothing posts any more.
    package func close() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isClosed = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// Writes batches until the outbox is closed and empty, or a write fails.
    ///
    /// - Parameter writer: The stream's response writer.
    package func run(writer: RPCWriter<Message>) async {
        while let batch = await nextBatch() {
            do {
                try await writer.write(contentsOf: batch)
            } catch {
                let waiters = state.withLock { state in
                    state.failure = error
                    defer { state.roomWaiters = [] }
                    return state.roomWaiters
                }
                for waiter in waiters { waiter.resume(throwing: error) }
                return
            }
        }
    }

    /// The messages posted since the last batch, waiting for one; `nil` once closed and empty.
    ///
    /// The messages are taken when this task runs again, not when a post wakes it, so that everything posted in the
    /// poster's turn goes in one batch.
    private func nextBatch() async -> [Message]? {
        while true {
            let taken = state.withLock { state -> Taken in
                if !state.pending.isEmpty {
                    defer {
                        state.pending = []
                        state.roomWaiters = []
                    }
                    return .batch(state.pending, state.roomWaiters)
                }
                return state.isClosed ? .closed : .nothing
            }
            switch taken {
            case .batch(let batch, let roomWaiters):
                for waiter in roomWaiters { waiter.resume() }
                return batch
            case .closed:
                return nil
            case .nothing:
                await withCheckedContinuation { continuation in
                    let parked = state.withLock { state in
                        guard state.pending.isEmpty, !state.isClosed else { return false }
                        state.writer = continuation
                        return true
                    }
                    if !parked { continuation.resume() }
                }
            }
        }
    }
}

extension ExchangeOutbox {
    /// What a post came to.
    enum PostOutcome {
        /// Queued; the writer is busy and will take it with the next batch.
        case queued
        /// Queued, and the writer was waiting: wake it; it takes the batch when it runs.
        case wakeWriter(CheckedContinuation<Void, Never>)
        /// Not queued: too many messages wait.
        case full
    }

    /// What the writer found when it looked for a batch.
    enum Taken {
        /// Messages to write, and the posters that waited for room, to be resumed.
        case batch([Message], [CheckedContinuation<Void, any Error>])
        /// Closed, and nothing is left.
        case closed
        /// Nothing yet: wait for a post.
        case nothing
    }

    /// The queued messages, who waits, and how the outbox ended.
    struct State {
        var pending: [Message] = []
        var writer: CheckedContinuation<Void, Never>?
        var roomWaiters: [CheckedContinuation<Void, any Error>] = []
        var isClosed = false
        var failure: (any Error)?
    }
}
