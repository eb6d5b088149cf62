import NIOCore
import Synchronization
@_spi(ExperimentalScheduling) import _Concurrency

/// Delayed jobs (`Task.sleep`) of tasks that prefer an ``EventLoopTaskExecutor`` wait on the event loop's clock.
///
/// Swift 6.3's `Task.sleep` asks the current task's preferred executor whether it is a `SchedulingExecutor` (an
/// experimental SPI, SE-0505) before falling back to the global executor's timers, which on Linux are Dispatch
/// timers: a manager thread that wakes a worker thread for every expiry. grpc-swift starts one such sleep per call
/// on each side to enforce the deadline, and cancels it when the call ends, but a cancelled sleep's job still waits
/// for its deadline. With Dispatch that cost two thread wake-ups per call on other cores, about a sixth of a
/// split-mode service's CPU (Docs/BENCHMARKS.md).
///
/// Here the jobs wait in the executor's own heap, and one loop callback at a time is armed for the earliest. They do
/// not go into the loop's scheduled-task queue itself: thousands of pending deadline sleeps there would make every
/// cancellation of a loop timer (NIO removes by linear search; gRPC and the upstream client cancel several per call)
/// scan them all. A sleep no earlier than the armed callback, the common case, is a heap push under a lock.
///
/// A loop that has shut down cannot run anything: jobs still waiting then, or scheduled after, are handed to the
/// global executor at once rather than dropped, so their sleeps end early instead of never.
///
/// A sleep that runs to its deadline wakes its task through the global executor (Swift's runtime resumes it there,
/// and from there it returns to this loop): one thread hop, paid only by sleeps that are not cancelled.
extension EventLoopTaskExecutor: SchedulingExecutor {
    /// Runs `job` on the event loop once `delay` has passed on the loop's clock.
    ///
    /// - Parameters:
    ///   - job: The job, normally the wake-up of a sleeping task.
    ///   - delay: How long to wait; zero or negative runs the job on the loop's next tick.
    ///   - tolerance: Ignored: the loop's timers are exact.
    ///   - clock: The clock `delay` is measured on. `ContinuousClock` and `SuspendingClock` (whose durations are
    ///     `Swift.Duration`) are waited on the loop's clock; any other clock is waited on by that clock in a task on
    ///     the global executor, which then hands the job to the loop.
    package func enqueue<C: Clock>(
        _ job: consuming ExecutorJob,
        after delay: C.Duration,
        tolerance: C.Duration?,
        clock: C
    ) {
        let job = UnownedJob(job)
        guard let duration = delay as? Duration else {
            Task(executorPreference: globalConcurrentExecutor) {
                try? await clock.sleep(for: delay, tolerance: tolerance)
                self.eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
            }
            return
        }
        let deadline = eventLoop.now + TimeAmount(saturating: duration)
        let arm = sleepers.withLock { $0.push(job, at: deadline) }
        if arm { self.arm(at: deadline) }
    }

    /// Schedules the loop callback that wakes the jobs due by `deadline`.
    private func arm(at deadline: NIODeadline) {
        do {
            try eventLoop.scheduleCallback(at: deadline, handler: SleepersDue(executor: self, deadline: deadline))
        } catch {
            releaseAll()  // the loop has shut down
        }
    }

    /// Runs the jobs that are due, then arms the callback for the next one if none is armed early enough.
    fileprivate func runDue(armedAt deadline: NIODeadline) {
        let now = eventLoop.now
        let (due, next) = sleepers.withLock { $0.popDue(at: now, firedCallback: deadline) }
        for job in due {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
        if let next { arm(at: next) }
    }

    /// Hands every waiting job to the global executor.
    fileprivate func releaseAll() {
        for job in sleepers.withLock({ $0.removeAll() }) {
            globalConcurrentExecutor.enqueue(job)
        }
    }
}

/// The loop callback armed for the earliest waiting job.
private struct SleepersDue: NIOScheduledCallbackHandler, Sendable {
    let executor: EventLoopTaskExecutor
    let deadline: NIODeadline

    func handleScheduledCallback(eventLoop: some EventLoop) {
        executor.runDue(armedAt: deadline)
    }

    func didCancelScheduledCallback(eventLoop: some EventLoop) {
        executor.releaseAll()  // the loop is shutting down
    }
}

/// Jobs waiting for a deadline, in a binary min-heap ordered by deadline and then arrival, plus the deadlines of the
/// loop callbacks armed for them.
///
/// Callbacks are never cancelled (the loop's cancellation is a linear search); a callback that finds nothing due
/// simply ends. One is armed only when a job's deadline is earlier than every armed one, so there is usually one.
struct SleepingJobs: ~Copyable {
    private struct Entry {
        var deadline: NIODeadline
        var arrival: UInt64
        var job: UnownedJob

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && arrival < other.arrival)
        }
    }

    private var heap: [Entry] = []
    private var arrivals: UInt64 = 0
    /// Deadlines of the callbacks armed and not yet fired.
    private var armed: [NIODeadline] = []

    init() {}

    /// Adds a job.
    ///
    /// - Returns: Whether the caller must arm a callback at `deadline`; if so, it is recorded as armed.
    mutating func push(_ job: UnownedJob, at deadline: NIODeadline) -> Bool {
        heap.append(Entry(deadline: deadline, arrival: arrivals, job: job))
        arrivals &+= 1
        siftUp(heap.count - 1)
        if let earliest = armed.min(), earliest <= deadline { return false }
        armed.append(deadline)
        return true
    }

    /// Removes the jobs due at `now`, in order, after the callback armed for `firedCallback` fired.
    ///
    /// - Returns: The jobs to run, and the deadline the caller must arm a callback at (recorded as armed), if the
    ///   earliest waiting job is earlier than every callback still armed.
    mutating func popDue(at now: NIODeadline, firedCallback: NIODeadline) -> ([UnownedJob], NIODeadline?) {
        if let index = armed.firstIndex(of: firedCallback) { armed.remove(at: index) }
        var due: [UnownedJob] = []
        while let first = heap.first, first.deadline <= now {
            due.append(first.job)
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        guard let next = heap.first?.deadline else { return (due, nil) }
        if let earliest = armed.min(), earliest <= next { return (due, nil) }
        armed.append(next)
        return (due, next)
    }

    /// Removes every job, in no particular order, and forgets the armed callbacks.
    mutating func removeAll() -> [UnownedJob] {
        defer {
            heap.removeAll()
            armed.removeAll()
        }
        return heap.map(\.job)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right].precedes(heap[left]) ? right : left
            guard heap[smaller].precedes(heap[parent]) else { return }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }
}

extension TimeAmount {
    /// `duration` in nanoseconds, clamped to what a `TimeAmount` holds (about 292 years either way).
    init(saturating duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow {
            self = .nanoseconds(seconds < 0 ? .min : .max)
            return
        }
        let (total, carry) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        self = .nanoseconds(carry ? (seconds < 0 ? .min : .max) : total)
    }
}
