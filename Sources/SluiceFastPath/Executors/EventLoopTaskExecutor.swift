package import NIOCore
import Synchronization

/// A Swift concurrency task executor that runs jobs on one NIO event loop.
///
/// A request handled by a task that prefers its connection's event loop never leaves that thread: the channel's
/// reads resume it there, its writes are issued from there, and an HTTP client or gRPC call it makes on the same
/// loop completes there. Without a preference every such resumption is a hand-off between the event loop and the
/// cooperative pool, a thread wake-up each, which dominates a proxy's added latency (Docs/BENCHMARKS.md).
///
/// ```swift
/// let executor = EventLoopTaskExecutor(channel.eventLoop)
/// await withTaskExecutorPreference(executor) {
///     await handle(channel)
/// }
/// ```
///
/// Jobs that block must not run here: they would stall every connection on the loop. Blocking work (SQLite, file
/// I/O) is handed to its own queue and awaited, as GRDB's async API and `NIOThreadPool` do.
package final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop jobs run on.
    package let eventLoop: any EventLoop
    /// Jobs of sleeping tasks, waiting for their deadlines (EventLoopTaskExecutor+Scheduling.swift).
    let sleepers = Mutex(SleepingJobs())

    /// Creates an executor for one event loop.
    ///
    /// Tasks that come and go with connections should use ``shared(for:)`` instead.
    ///
    /// - Parameter eventLoop: The loop jobs run on.
    package init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The executor of `eventLoop` that every caller shares, made on first use and kept for the life of the process
    /// (with its loop).
    ///
    /// Sleeping tasks wait in their executor's heap, and each executor with sleepers keeps one timer in the loop's
    /// queue, where NIO cancels timers by linear search (EventLoopTaskExecutor+Scheduling.swift). An executor per
    /// connection would keep one timer per recently closed connection for as long as its last sleeper waits (a gRPC
    /// deadline, seconds): thousands under connection churn. One executor per loop keeps one.
    ///
    /// - Parameter eventLoop: The loop.
    /// - Returns: The loop's executor.
    package static func shared(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        sharedExecutors.withLock { executors in
            let key = ObjectIdentifier(eventLoop)
            if let executor = executors[key] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop)
            executors[key] = executor
            return executor
        }
    }

    /// Schedules a job on the event loop.
    ///
    /// - Parameter job: The job.
    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

/// The executors of ``EventLoopTaskExecutor/shared(for:)``, by loop. Each holds its loop, so a key cannot be reused
/// by another loop at the same address.
private let sharedExecutors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])
