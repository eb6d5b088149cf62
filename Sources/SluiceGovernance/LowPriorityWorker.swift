import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking background work, such as ledger writes, on a thread the kernel schedules only when nothing else
/// wants the CPU.
///
/// A ledger transaction takes about a millisecond of CPU. On a normal-priority thread it competes with the threads
/// that serve requests, and a request that wakes up behind it waits for it to finish: on a two-core machine this was
/// the largest cause of the gateway's tail latency. This worker's first thread runs under Linux's `SCHED_IDLE`
/// policy, so any normal thread that wakes on its CPU preempts it at once.
///
/// Idle priority alone could starve the work on a saturated machine. So a second, normal-priority thread takes any job
/// that has waited longer than ``patience``: under full load background work is delayed by at most that long, never
/// postponed indefinitely. On an idle or lightly loaded machine every job runs on the idle-priority thread.
///
/// Both threads start with the first job and end, after finishing the jobs already queued, when the worker is
/// released. Jobs cannot be cancelled once queued; keep each one bounded (SQLite's busy timeout bounds a write).
///
/// ```swift
/// let worker = LowPriorityWorker(name: "ledger")
/// try await worker.run {
///     try pool.write { db in try insertBatch(db) }   // blocks the worker's thread, not a Swift concurrency thread
/// }
/// ```
package final class LowPriorityWorker: Sendable {
    /// How long a job may wait for the idle-priority thread before the normal-priority thread runs it.
    package let patience: Duration

    private let queue: JobQueue

    /// The default ``patience``: short enough that a saturated machine delays writes only briefly, long enough that
    /// a machine with any idle time runs everything at idle priority.
    package static let defaultPatience: Duration = .milliseconds(50)

    /// Creates a worker; its threads start with the first job.
    ///
    /// - Parameters:
    ///   - name: The threads' name prefix, as shown by `top -H` and `perf` (at most 10 characters are kept).
    ///   - patience: How long a job may wait for the idle-priority thread.
    package init(name: String, patience: Duration = defaultPatience) {
        self.patience = patience
        self.queue = JobQueue(name: name, patience: patience)
    }

    deinit {
        queue.close()
    }

    /// Runs `body` on one of the worker's threads and returns its result.
    ///
    /// - Parameter body: Blocking work; it runs to completion even if the calling task is cancelled.
    /// - Returns: What `body` returned.
    package func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.enqueue {
                continuation.resume(with: Swift.Result { try body() })
            }
        }
    }

    /// The scheduling policy of the calling thread: `"idle"`, `"normal"` or `"other"`.
    ///
    /// For tests and diagnostics: a job can report which of the worker's threads ran it.
    package static var currentThreadPolicy: String {
        #if os(Linux)
            switch sched_getscheduler(0) {
            case Int32(SCHED_OTHER): return "normal"
            case schedIdle: return "idle"
            default: return "other"
            }
        #else
            return "normal"
        #endif
    }
}

#if os(Linux)
    /// Linux's `SCHED_IDLE` policy (`<sched.h>` declares it only under `_GNU_SOURCE`, which Swift's Glibc module omits).
    private let schedIdle: Int32 = 5
#endif

// MARK: - Queue and threads

/// The jobs and the two threads that take them.
///
/// Thread-safe: every field is read and written only while `condition` is locked.
private final class JobQueue: @unchecked Sendable {
    private struct Job {
        let enqueuedAt: ContinuousClock.Instant
        let work: @Sendable () -> Void
    }

    private let name: String
    private let patience: Duration
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var started = false
    private var closed = false

    init(name: String, patience: Duration) {
        self.name = String(name.prefix(10))
        self.patience = patience
    }

    func enqueue(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        if closed {
            condition.unlock()
            work()
            return
        }
        jobs.append(Job(enqueuedAt: .now, work: work))
        if !started {
            started = true
            startThreads()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Lets the threads finish what is queued and exit.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func startThreads() {
        let name = self.name
        Thread { [self] in
            Self.nameCurrentThread(name + "-idle")
            Self.enterIdlePolicy()
            runIdleLoop()
        }
        .start()
        Thread { [self] in
            Self.nameCurrentThread(name + "-busy")
            runCatchUpLoop()
        }
        .start()
    }

    private static func nameCurrentThread(_ name: String) {
        // Foundation passes the name to the kernel only when a thread names itself.
        Thread.current.name = name
    }

    private static func enterIdlePolicy() {
        #if os(Linux)
            var parameters = sched_param(sched_priority: 0)
            // A thread may always lower its own priority; if it somehow cannot, it simply runs at normal priority.
            _ = sched_setscheduler(0, schedIdle, &parameters)
        #endif
    }

    /// Takes every job as soon as it is queued.
    private func runIdleLoop() {
        condition.lock()
        while true {
            if let job = takeFirst() {
                condition.unlock()
                job.work()
                condition.lock()
            } else if closed {
                break
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    /// Takes only jobs that have waited longer than `patience`, which happens when the idle-priority thread is
    /// starved.
    private func runCatchUpLoop() {
        condition.lock()
        while true {
            if head < jobs.count {
                let due = jobs[head].enqueuedAt + patience
                if ContinuousClock.now >= due, let job = takeFirst() {
                    condition.unlock()
                    job.work()
                    condition.lock()
                } else {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(due - .now)))
                }
            } else if closed {
                break
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    private func takeFirst() -> Job? {
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= jobs.count {
            // A queue that never empties must not keep every job it ever ran.
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return max(0, TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18)
    }
}
