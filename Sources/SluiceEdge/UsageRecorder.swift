package import Logging
import ServiceLifecycle
package import SluiceGovernance
import Synchronization

/// Takes usage records off the request path and writes them to governance in the background.
///
/// Recording never delays a response. Records are written in batches: the first record after a quiet spell starts a
/// short ``batchWindow`` in which later records join it, so a steady stream of requests costs one ledger transaction
/// per window rather than one per request (and one wake-up of the writer, not one per record). A batch that fails is retried (writes are
/// idempotent per request id), and records that still cannot be written are logged with their request ids. On
/// graceful shutdown the recorder writes everything still queued, for at most ``shutdownDrainLimit``: a governance
/// service that is gone must not keep the process from exiting. List it before the HTTP server in the service
/// group, so the server drains first.
package final class UsageRecorder: Service {
    private let governance: any GovernanceService
    private let logger: Logger
    private let pending = Mutex<[UsageRecord]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let batchWindow: Duration

    /// The most records written in one batch.
    static let maximumBatch = 500

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
    package init(governance: any GovernanceService, logger: Logger, batchWindow: Duration = defaultBatchWindow) {
        self.governance = governance
        self.logger = logger
        self.batchWindow = batchWindow
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a record; returns at once.
    ///
    /// - Parameter record: The usage of one call.
    package func record(_ record: UsageRecord) {
        pending.withLock { $0.append(record) }
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
        let lost = pending.withLock { pending -> [UsageRecord] in
            defer { pending.removeAll() }
            return pending
        }
        if !lost.isEmpty {
            logger.error(
                "usage records not written before shutdown",
                metadata: ["records": "\(lost.count)", "first_request_id": "\(lost[0].requestID)"]
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

    private func write(_ batch: [UsageRecord]) async {
        for attempt in 1...3 {
            do {
                try await governance.recordUsage(batch: batch)
                return
            } catch {
                logger.warning(
                    "usage write failed",
                    metadata: ["records": "\(batch.count)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                do {
                    try await Task.sleep(for: .milliseconds(100 * attempt))
                } catch {
                    break
                }
            }
        }
        for record in batch {
            logger.error("usage record dropped after retries", metadata: ["request_id": "\(record.requestID)"])
        }
    }
}
