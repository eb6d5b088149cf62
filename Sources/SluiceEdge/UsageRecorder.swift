package import Logging
import Synchronization
import ServiceLifecycle
package import SluiceGovernance

/// Takes usage records off the request path and writes them to governance in the background.
///
/// Recording never delays a response. On graceful shutdown the recorder stops taking records and writes every
/// record still queued before it returns; a write that fails is retried, and a record that still cannot be
/// written is logged with its request id. List it before the HTTP server in the service group, so the server
/// drains first.
package final class UsageRecorder: Service {
    private let governance: any GovernanceService
    private let logger: Logger
    private let pending = Mutex<[UsageRecord]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// The most records written in one batch.
    static let maximumBatch = 500

    /// Creates a recorder.
    ///
    /// - Parameters:
    ///   - governance: Where records are written.
    ///   - logger: The logger.
    package init(governance: any GovernanceService, logger: Logger) {
        self.governance = governance
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a record; returns at once.
    ///
    /// - Parameter record: The usage of one call.
    package func record(_ record: UsageRecord) {
        pending.withLock { $0.append(record) }
        wake.yield()
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await writeQueued()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        await writeQueued()
    }

    /// Writes everything queued, in batches, until the queue is empty.
    private func writeQueued() async {
        while true {
            let batch = pending.withLock { pending -> [UsageRecord] in
                let count = min(pending.count, Self.maximumBatch)
                defer { pending.removeFirst(count) }
                return Array(pending.prefix(count))
            }
            guard !batch.isEmpty else { return }
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
                try? await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
        for record in batch {
            logger.error("usage record dropped after retries", metadata: ["request_id": "\(record.requestID)"])
        }
    }
}
