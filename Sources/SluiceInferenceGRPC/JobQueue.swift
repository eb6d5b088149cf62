import Synchronization

/// The jobs ``InferenceGRPCClient``'s callers hand to the client's `run()`: chat streams to run, and `Exchange`
/// streams to keep open.
///
/// Unlike an `AsyncStream`, it never drops a job: after ``finish()`` the consumer still receives every job enqueued
/// before, so each waiting caller gets an answer even when `run()` is cancelled. Many producers, one consumer.
package final class JobQueue<Job: Sendable>: Sendable {
    private let state = Mutex(State())

    /// Creates an empty, open queue.
    package init() {}

    /// Adds a job.
    ///
    /// - Parameter job: The job.
    /// - Returns: `false` when the queue is finished and the job was not added.
    package func enqueue(_ job: Job) -> Bool {
        let (accepted, waiter) = state.withLock { $0.enqueue(job) }
        waiter?.resume(returning: job)
        return accepted
    }

    /// Stops accepting jobs; the consumer drains what is queued, then receives `nil`.
    package func finish() {
        state.withLock { $0.finish() }?.resume(returning: nil)
    }

    /// The next job, or `nil` once the queue is finished and empty. Not cancellable: finish the queue instead.
    package func next() async -> Job? {
        await withCheckedContinuation { continuation in
            switch state.withLock({ $0.next(continuation) }) {
            case .some(let job): continuation.resume(returning: job)
            case .none: break
            }
        }
    }
}

extension JobQueue {
    /// The queued jobs, the waiting consumer and whether the queue is finished.
    struct State {
        private var jobs: [Job] = []
        private var head = 0
        private var consumer: CheckedContinuation<Job?, Never>?
        private var isFinished = false

        /// Adds a job, or hands it straight to a waiting consumer.
        mutating func enqueue(
            _ job: Job
        ) -> (accepted: Bool, waiter: CheckedContinuation<Job?, Never>?) {
            guard !isFinished else { return (false, nil) }
            if let consumer {
                self.consumer = nil
                return (true, consumer)
            }
            jobs.append(job)
            return (true, nil)
        }

        /// Finishes the queue; returns a waiting consumer to resume with `nil`.
        mutating func finish() -> CheckedContinuation<Job?, Never>? {
            isFinished = true
            defer { consumer = nil }
            return consumer
        }

        /// A queued job (`.some(job)`), the end (`.some(nil)`), or `.none` after storing the consumer to wait.
        mutating func next(_ continuation: CheckedContinuation<Job?, Never>) -> Job?? {
            if head < jobs.count {
                let job = jobs[head]
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                }
                return .some(job)
            }
            if isFinished { return .some(nil) }
            consumer = continuation
            return .none
        }
    }
}
