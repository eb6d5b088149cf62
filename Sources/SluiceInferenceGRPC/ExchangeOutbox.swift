package import GRPCCore
import Synchronization

/// Gathers what the calls of one `Exchange` stream write, so that the messages written in one turn of the executor
/// reach the transport together: one flush, and on the socket one write, instead of one per message.
///
/// Calls ``post(_:)`` their messages; ``run(writer:)`` waits for the first, then writes everything posted by then
/// as one batch. A streamed answer whose events arrive together (one upstream read often carries several) thus leaves
/// in one write. Posting returns at once while fewer than ``highWater`` messages wait; past that, posters wait until
/// the writer has taken them, so a caller that stops reading holds the calls back, as per-message writes would. When
/// a write fails (the stream is gone), waiting and later posters get its error.
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
                defer { state.pending = [] }
                return .wakeWriter(writer, state.pending)
            }
            switch outcome {
            case .queued:
                return
            case .wakeWriter(let writer, let batch):
                writer.resume(returning: batch)
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
        let writer = state.withLock { state -> CheckedContinuation<[Message], Never>? in
            state.isClosed = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(returning: [])
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
    private func nextBatch() async -> [Message]? {
        let batch = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Message]? in
                guard state.pending.isEmpty, !state.isClosed else {
                    defer { state.pending = [] }
                    return state.pending
                }
                state.writer = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        let waiters = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume() }
        return batch.isEmpty ? nil : batch
    }
}

extension ExchangeOutbox {
    /// What a post came to.
    enum PostOutcome {
        /// Queued; the writer is busy and will take it with the next batch.
        case queued
        /// Queued, and the writer was waiting: resume it with the batch.
        case wakeWriter(CheckedContinuation<[Message], Never>, [Message])
        /// Not queued: too many messages wait.
        case full
    }

    /// The queued messages, who waits, and how the outbox ended.
    struct State {
        var pending: [Message] = []
        var writer: CheckedContinuation<[Message], Never>?
        var roomWaiters: [CheckedContinuation<Void, any Error>] = []
        var isClosed = false
        var failure: (any Error)?
    }
}
