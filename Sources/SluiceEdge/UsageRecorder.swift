package import Logging
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
    private let records: AsyncStream<UsageRecord>
    private let continuation: AsyncStream<UsageRecord>.Continuation

    /// Creates a recorder.
    ///
    /// - Parameters:
    ///   - governance: Where records are written.
    ///   - logger: The logger.
    package init(governance: any GovernanceService, logger: Logger) {
        self.governance = governance
        self.logger = logger
        (records, continuation) = AsyncStream.makeStream(of: UsageRecord.self, bufferingPolicy: .unbounded)
    }

    /// Queues a record; returns at once.
    ///
    /// - Parameter record: The usage of one call.
    package func record(_ record: UsageRecord) {
        continuation.yield(record)
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await record in records {
                await write(record)
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }

    private func write(_ record: UsageRecord) async {
        for attempt in 1...3 {
            do {
                try await governance.recordUsage(record)
                return
            } catch {
                logger.warning(
                    "usage write failed",
                    metadata: ["request_id": "\(record.requestID)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                try? await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
        logger.error("usage record dropped after retries", metadata: ["request_id": "\(record.requestID)"])
    }
}
