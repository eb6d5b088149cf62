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
/// that has waited longer than ``patience``, and raises the idle-priority thread to normal priority when the job it is
/// running has held it longer than that (the thread returns to idle priority when the job ends): under full load
/// background work is delayed, never postponed indefinitely. On an idle or lightly loaded machine every job runs on
/// the idle-priority thread at idle priority. Raising a thread out of `SCHED_IDLE` needs `CAP_SYS_NICE` or an
/// `RLIMIT_NICE` of 20 or more (`LimitNICE=+0` in the systemd units, `--ulimit nice=20` for a container); without it a
/// job the idle-priority thread has taken waits for an idle CPU, as before.
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
    /// How long a job may wait for the idle-priority thread before the normal-priority thread runs it, and how long
    /// a job may run on the idle-priority thread before that thread is raised to normal priority.
    package let patience: Duration

    private let queue: JobQueue

    /// The default ``patience``: short enough that a saturated machine delays writes only briefly, long enough that
    /// a machine with any idle time runs everything at idle priority.
    package static let defaultPatience: Duration = .milliseconds(50)

    /// Creates a worker; its threads start with the first job.
    ///
    /// - Parameters:
    ///   - name: The threads' name prefix, as shown by `top -H` and `perf` (at most 10 characters are kept).
    ///   - patience: How long a job may wait for, or run at, idle priority.
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
                let result = Swift.Result { try body() }
                // Resuming may make the cooperative pool start a thread, and a new thread inherits its creator's
                // scheduling policy: resumed at idle priority, the pool could keep an idle-priority thread for good.
                Self.withNormalPriority { continuation.resume(with: result) }
            }
        }
    }

    /// Runs `body` at normal priority: on a thread at idle priority (a worker's job), raised for the call.
    ///
    /// For work on the idle-priority thread that may start threads (resuming a task can make Dispatch start one): a
    /// thread inherits the scheduling policy of the thread that starts it. Without the right to leave `SCHED_IDLE`
    /// (see ``LowPriorityWorker``) `body` runs at idle priority.
    ///
    /// - Parameter body: The work.
    /// - Returns: What `body` returned.
    package static func withNormalPriority<Result>(_ body: () throws -> Result) rethrows -> Result {
        #if os(Linux)
            guard sched_getscheduler(0) == schedIdle else { return try body() }
            var parameters = sched_param(sched_priority: 0)
            _ = sched_setscheduler(0, Int32(SCHED_OTHER), &parameters)
            defer { _ = sched_setscheduler(0, schedIdle, &parameters) }
        #endif
        return try body()
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
    /// The idle-priority thread while it runs. It clears this under the lock before it exits, so a thread read here
    /// under the lock is alive (a detached thread's handle must not be used after it ends).
    private var idleThread: pthread_t?
    /// When the idle-priority thread took the job it is running, if it is running one.
    private var idleJobSince: ContinuousClock.Instant?
    /// Whether the idle-priority thread was raised to normal priority for the job it is running.
    private var idleRaised = false

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
            Self.setPolicy(idle: true, thread: pthread_self())
            runIdleLoop()
        }
        .start()
        Thread { [self] in
            Self.nameCurrentThread(name + "-busy")
            runCatchUpLoop()
        }
        .start()
    }

    /// Gives the calling thread its name in the kernel (`top -H`, `perf`, `/proc`).
    ///
    /// Until then it has its creator's name. Not through `Thread.current.name`: Foundation passes that to the kernel
    /// only once `start()` has recorded the new thread's handle, and a thread that runs before its creator gets there
    /// keeps the creator's name for good.
    private static func nameCurrentThread(_ name: String) {
        #if os(Linux)
            let descriptor = open("/proc/thread-self/comm", O_WRONLY)
            guard descriptor >= 0 else { return }
            defer { _ = Glibc.close(descriptor) }
            var bytes = Array(name.utf8.prefix(15))
            _ = write(descriptor, &bytes, bytes.count)
        #else
            Thread.current.name = name
        #endif
    }

    /// Sets the scheduling policy of a thread of this process to `SCHED_IDLE` or back to `SCHED_OTHER`.
    ///
    /// A thread may always lower a priority. Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows
    /// nice 0 (20 or more; `LimitNICE=+0` in the systemd units). Where it is refused, the thread stays at idle
    /// priority: jobs it has taken can then be delayed for as long as the machine is saturated.
    private static func setPolicy(idle: Bool, thread: pthread_t) {
        #if os(Linux)
            var parameters = sched_param(sched_priority: 0)
            _ = pthread_setschedparam(thread, idle ? schedIdle : Int32(SCHED_OTHER), &parameters)
        #endif
    }

    /// Takes every job as soon as it is queued.
    private func runIdleLoop() {
        condition.lock()
        idleThread = pthread_self()
        while true {
            if let job = takeFirst() {
                idleJobSince = .now
                condition.broadcast()  // the catch-up thread times the job
                condition.unlock()
                job.work()
                condition.lock()
                idleJobSince = nil
                if idleRaised {
                    idleRaised = false
                    Self.setPolicy(idle: true, thread: pthread_self())
                }
                condition.broadcast()
            } else if closed {
                idleThread = nil
                break
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    /// Takes only jobs that have waited longer than `patience`, which happens when the idle-priority thread is
    /// starved, and raises the idle-priority thread to normal priority when its job has run longer than `patience`.
    /// Ends once the worker is closed, nothing is queued and the idle-priority thread's last job has ended.
    private func runCatchUpLoop() {
        condition.lock()
        while true {
            let now = ContinuousClock.now
            var wakeAt: ContinuousClock.Instant?
            if let since = idleJobSince, !idleRaised, let idleThread {
                if now >= since + patience {
                    idleRaised = true
                    Self.setPolicy(idle: false, thread: idleThread)
                } else {
                    wakeAt = since + patience
                }
            }
            if head < jobs.count {
                let due = jobs[head].enqueuedAt + patience
                if now >= due, let job = takeFirst() {
                    condition.unlock()
                    job.work()
                    condition.lock()
                    continue
                }
                wakeAt = min(wakeAt ?? due, due)
            } else if closed, idleJobSince == nil {
                // The idle-priority thread has only to exit; on a saturated machine it might wait long for a CPU.
                if let idleThread, !idleRaised {
                    idleRaised = true
                    Self.setPolicy(idle: false, thread: idleThread)
                }
                break
            }
            if let wakeAt {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(wakeAt - .now)))
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
