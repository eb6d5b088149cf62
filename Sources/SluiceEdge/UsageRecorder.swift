package import Logging
import NIOCore
import ServiceLifecycle
package import SluiceGovernance
import Synchronization

/// Takes usage records off the request path and writes them to governance in the background.
///
/// Recording never delays a response. Records are written in batches: the first record after a quiet spell starts a
/// short ``batchWindow`` in which later records join it, so a steady stream of requests costs one ledger transaction
/// per window rather than one per request (and one wake-up of the writer, not one per record).
///
/// Writes are idempotent per request id, so a failed batch is simply sent again. While governance cannot be reached
/// (`unavailable`: refused, reset or late, as when the governance process restarts) the recorder keeps the batch and
/// retries with exponential backoff until governance answers, however long that takes; records that arrive meanwhile
/// queue behind it, up to ``maximumQueued``, past which the oldest queued records are dropped and logged (memory is
/// bounded, and a long outage is loud). A batch governance refuses for any other reason gets
/// ``attemptsWhenRefused`` tries and is then dropped, each record logged with its request id, so that one bad batch
/// cannot hold back the rest. On graceful shutdown the recorder writes everything still queued, for at most
/// ``shutdownDrainLimit``: a governance service that is gone must not keep the process from exiting, and what is
/// left is logged. List it before the HTTP server in the service group, so the server drains first.
package final class UsageRecorder: Service {
    private let governance: any GovernanceService
    private let logger: Logger
    /// Records waiting to be written, oldest first; a ring buffer, so dropping the oldest of a full queue is cheap.
    private let pending = Mutex(CircularBuffer<UsageRecord>())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let batchWindow: Duration
    private let retryDelay: Duration
    private let maximumRetryDelay: Duration
    private let maximumQueued: Int
    private let overflow = Mutex(Overflow())

    /// Records dropped because the queue was full, not logged yet.
    private struct Overflow {
        var count = 0
        var firstRequestID = ""
    }

    /// The most records written in one batch.
    static let maximumBatch = 500

    /// How many tries a batch gets when governance answers with anything but `unavailable`.
    package static let attemptsWhenRefused = 3

    /// The most records queued by default while governance is unreachable: about two minutes of 1,500 requests a
    /// second, at a few hundred bytes a record.
    package static let defaultMaximumQueued = 200_000

    /// How long records gather before a batch is written, unless a full batch is already waiting.
    package static let defaultBatchWindow: Duration = .milliseconds(20)

    /// The longest the recorder keeps writing after graceful shutdown began.
    package static let shutdownDrainLimit: Duration = .seconds(15)

    /// Creates a recorder.
    ///
    /// - Parameters:
    ///   - governance: Where records are written.
    ///   - logger: The logger.
    ///   - batchWindow: How long records gather before a batch is written.
    ///   - retryDelay: The wait before the first retry of a failed batch; it doubles with each failure.
    ///   - maximumRetryDelay: The longest wait between two tries.
    ///   - maximumQueued: The most records waiting to be written; past it the oldest are dropped and logged.
    package init(
        governance: any GovernanceService,
        logger: Logger,
        batchWindow: Duration = defaultBatchWindow,
        retryDelay: Duration = .milliseconds(100),
        maximumRetryDelay: Duration = .seconds(5),
        maximumQueued: Int = defaultMaximumQueued
    ) {
        self.governance = governance
        self.logger = logger
        self.batchWindow = batchWindow
        self.retryDelay = retryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.maximumQueued = max(1, maximumQueued)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a record; returns at once.
    ///
    /// - Parameter record: The usage of one call.
    package func record(_ record: UsageRecord) {
        let dropped = pending.withLock { pending -> UsageRecord? in
            pending.append(record)
            return pending.count > maximumQueued ? pending.removeFirst() : nil
        }
        if let dropped {
            overflow.withLock { overflow in
                if overflow.count == 0 { overflow.firstRequestID = dropped.requestID }
                overflow.count += 1
            }
        }
        wake.yield()
    }

    /// Runs until graceful shutdown, as described on the type.
    package func run() async throws {
        // The writer runs until the queue is closed and drained; the limit starts when graceful shutdown begins
        // and, when it passes, cancels whatever write is still in flight (a hung governance waits out deadlines).
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.wakeups {
                    if self.pending.withLock({ $0.count }) < Self.maximumBatch {
                        // Cancelled only when the drain limit passed; the write below then ends at once.
                        try? await Task.sleep(for: self.batchWindow)
                    }
                    // Only what gathered in the window: records that arrive while it is written start the next
                    // window. Draining until the queue is empty would write a run of one-record batches whenever a
                    // write takes longer than the gap between two requests.
                    await self.writeQueued(atMost: self.pending.withLock { $0.count })
                }
                await self.writeQueued(atMost: .max)
            }
            group.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return
                }
                self.wake.finish()
                try? await Task.sleep(for: Self.shutdownDrainLimit)
            }
            await group.next()
            group.cancelAll()
        }
        reportOverflow()
        let lost = pending.withLock { pending -> [UsageRecord] in
            defer { pending.removeAll() }
            return Array(pending)
        }
        if let first = lost.first {
            logger.error(
                "usage records not written before shutdown",
                metadata: ["records": "\(lost.count)", "first_request_id": "\(first.requestID)"]
            )
        }
    }

    /// Writes up to `limit` queued records, oldest first, in batches of at most ``maximumBatch``; fewer when the
    /// queue empties first or the task is cancelled.
    private func writeQueued(atMost limit: Int) async {
        var remaining = limit
        while remaining > 0, !Task.isCancelled {
            let batch = pending.withLock { pending -> [UsageRecord] in
                let count = min(pending.count, Self.maximumBatch, remaining)
                defer { pending.removeFirst(count) }
                return Array(pending.prefix(count))
            }
            guard !batch.isEmpty else { return }
            remaining -= batch.count
            await write(batch)
        }
    }

    /// Writes one batch as described on the type. When the drain limit cancels the writer mid-retry, the batch goes
    /// back to the front of the queue, to be reported with the rest of what was not written.
    private func write(_ batch: [UsageRecord]) async {
        var failures = 0
        var delay = retryDelay
        while true {
            do {
                try await governance.recordUsage(batch: batch)
                if failures > 0 {
                    logger.info(
                        "usage write succeeded",
                        metadata: ["records": "\(batch.count)", "failures": "\(failures)"]
                    )
                }
                reportOverflow()
                return
            } catch {
                if Task.isCancelled { return requeue(batch) }
                failures += 1
                let unreachable = (error as? GovernanceError)?.code == .unavailable
                if !unreachable, failures >= Self.attemptsWhenRefused { break }
                // An outage logs its first failure and then about once a minute, not once per try.
                if failures == 1 || delay >= maximumRetryDelay && failures.isMultiple(of: 12) {
                    logger.warning(
                        "usage write failed; retrying",
                        metadata: ["records": "\(batch.count)", "failures": "\(failures)", "error": "\(error)"]
                    )
                }
                reportOverflow()
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return requeue(batch)
                }
                delay = min(delay * 2, maximumRetryDelay)
            }
        }
        for record in batch {
            logger.error("usage record dropped after retries", metadata: ["request_id": "\(record.requestID)"])
        }
    }

    private func requeue(_ batch: [UsageRecord]) {
        pending.withLock { pending in
            for record in batch.reversed() { pending.prepend(record) }
        }
    }

    /// Logs the records the full queue dropped since the last report.
    private func reportOverflow() {
        let overflow = overflow.withLock { overflow -> Overflow in
            defer { overflow = Overflow() }
            return overflow
        }
        guard overflow.count > 0 else { return }
        logger.error(
            "usage records dropped: the queue is full while governance is unreachable",
            metadata: [
                "records": "\(overflow.count)", "first_request_id": "\(overflow.firstRequestID)",
                "maximum_queued": "\(maximumQueued)",
            ]
        )
    }
}
