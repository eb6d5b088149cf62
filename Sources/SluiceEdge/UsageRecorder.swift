package import Foundation
package import Logging
import Metrics
import NIOCore
import ServiceLifecycle
package import SluiceGovernance
import Synchronization

/// Takes usage records off the request path and writes every one of them to governance's ledger.
///
/// Recording never delays a response, and no record is dropped:
/// - Records are written in batches: the first record after a quiet spell starts a short ``batchWindow`` in which
///   later records join it, so a steady stream of requests costs one ledger transaction per window.
/// - **Backpressure.** When the ledger falls behind, so that ``admissionLimit`` records wait, ``admit()`` makes new
///   requests wait until the writer has caught up: the edge slows its admissions to the ledger's pace rather than
///   letting records pile up without bound.
/// - **Spool.** While governance cannot be reached (`unavailable`: refused, reset or late, as when the governance
///   process restarts), batches go to a ``UsageSpool`` on disk, synced before they leave memory, and the recorder
///   probes governance with exponential backoff; once it answers, the spool is replayed oldest first. Records still
///   queued at shutdown are spooled too, and a spool left by an earlier run is replayed when the recorder starts.
///   Ledger writes are idempotent per request id, so a replay never counts a call twice.
/// - A batch governance refuses for any other reason gets ``attemptsWhenRefused`` tries and is then dropped, each
///   record logged with its request id, so that one bad batch cannot hold back the rest.
///
/// Without a spool (or when it fails: a full disk), records wait in memory while governance is unreachable, and
/// backpressure holds new requests once ``admissionLimit`` are queued. On graceful shutdown the recorder writes what
/// is queued for at most ``shutdownDrainLimit``, then spools what is left. List it before the HTTP server in the
/// service group, so the server drains first.
///
/// ```swift
/// let recorder = UsageRecorder(governance: governance, spoolDirectory: dataDirectory.appending(path: "usage-spool"),
///                              logger: logger)
/// await recorder.admit()            // before a request is taken on
/// recorder.record(usage)            // once it is answered
/// ```
package final class UsageRecorder: Service {
    private let governance: any GovernanceService
    private let spoolDirectory: URL?
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let batchWindow: Duration
    private let retryDelay: Duration
    private let maximumRetryDelay: Duration
    /// New requests wait while this many records are queued.
    package let admissionLimit: Int

    private struct State {
        /// Records waiting to be written, oldest first.
        var pending = CircularBuffer<UsageRecord>()
        var admissionWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        var isShuttingDown = false
        /// Whether admissions are being held.
        var isHoldingAdmissions = false
        /// Episodes of held admissions since the last log line, and when that line was written: under sustained
        /// overload an episode starts every batch window, so they are logged about once a minute.
        var heldEpisodes = 0
        var lastHoldReport: ContinuousClock.Instant?
    }

    /// The most records written in one batch.
    static let maximumBatch = 500

    /// How many tries a batch gets when governance answers with anything but `unavailable`.
    package static let attemptsWhenRefused = 3

    /// How many queued records make new requests wait, by default: at 15,000 requests a second, about 0.7 s behind.
    package static let defaultAdmissionLimit = 10_000

    /// How long records gather before a batch is written, unless a full batch is already waiting.
    package static let defaultBatchWindow: Duration = .milliseconds(20)

    /// The longest the recorder keeps writing to governance after graceful shutdown began.
    package static let shutdownDrainLimit: Duration = .seconds(15)

    /// Creates a recorder.
    ///
    /// - Parameters:
    ///   - governance: Where records are written.
    ///   - spoolDirectory: The folder of the on-disk spool (`<data_dir>/usage-spool`), or `nil` to hold records in
    ///     memory only while governance is unreachable.
    ///   - logger: The logger.
    ///   - batchWindow: How long records gather before a batch is written.
    ///   - retryDelay: The wait before the first probe of an unreachable governance; it doubles with each failure.
    ///   - maximumRetryDelay: The longest wait between two probes.
    ///   - admissionLimit: How many queued records make ``admit()`` wait.
    package init(
        governance: any GovernanceService,
        spoolDirectory: URL? = nil,
        logger: Logger,
        batchWindow: Duration = defaultBatchWindow,
        retryDelay: Duration = .milliseconds(100),
        maximumRetryDelay: Duration = .seconds(5),
        admissionLimit: Int = defaultAdmissionLimit
    ) {
        self.governance = governance
        self.spoolDirectory = spoolDirectory
        self.logger = logger
        self.batchWindow = batchWindow
        self.retryDelay = retryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.admissionLimit = max(1, admissionLimit)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: - Request path

    /// Returns at once while the ledger keeps up; otherwise waits until fewer than ``admissionLimit`` records are
    /// queued (or shutdown begins, or the task is cancelled).
    package func admit() async {
        let token: Int? = state.withLock { state in
            guard state.pending.count >= admissionLimit, !state.isShuttingDown else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let token else { return }
        EdgeMetrics.usageAdmissionWaits.increment()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let admitted = state.withLock { state in
                    if state.pending.count < admissionLimit || state.isShuttingDown || Task.isCancelled { return true }
                    state.admissionWaiters[token] = continuation
                    if !state.isHoldingAdmissions {
                        state.isHoldingAdmissions = true
                        state.heldEpisodes += 1
                        let now = ContinuousClock.now
                        if state.lastHoldReport.map({ now - $0 >= .seconds(60) }) ?? true {
                            logger.warning(
                                "requests wait for the usage ledger to catch up",
                                metadata: [
                                    "queued_records": "\(state.pending.count)", "limit": "\(admissionLimit)",
                                    "episodes": "\(state.heldEpisodes)",
                                ]
                            )
                            state.lastHoldReport = now
                            state.heldEpisodes = 0
                        }
                    }
                    return false
                }
                if admitted { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.admissionWaiters.removeValue(forKey: token) }?.resume()
        }
    }

    /// Queues a record; returns at once.
    ///
    /// - Parameter record: The usage of one call.
    package func record(_ record: UsageRecord) {
        state.withLock { $0.pending.append(record) }
        wake.yield()
    }

    /// How many records wait to be written.
    package var queuedCount: Int { state.withLock { $0.pending.count } }

    /// How many requests wait in ``admit()``.
    package var waitingAdmissions: Int { state.withLock { $0.admissionWaiters.count } }

    // MARK: - Writer

    /// Runs until graceful shutdown, as described on the type.
    package func run() async throws {
        var spool: UsageSpool?
        if let spoolDirectory {
            do {
                spool = try UsageSpool(directory: spoolDirectory)
            } catch {
                logger.error(
                    "usage spool unavailable; records wait in memory while governance is unreachable",
                    metadata: ["directory": "\(spoolDirectory.path)", "error": "\(error)"]
                )
            }
        }
        // The writer runs until the queue is closed and drained; the limit starts when graceful shutdown begins
        // and, when it passes, cancels whatever write is still in flight (a hung governance waits out deadlines).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [spool] in
                var writer = UsageLedgerWriter(recorder: self, spool: spool)
                await writer.run()
            }
            group.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return
                }
                self.beginShutdown()
                try? await Task.sleep(for: Self.shutdownDrainLimit)
            }
            await group.next()
            group.cancelAll()
        }
        let lost = state.withLock { state -> [UsageRecord] in
            defer { state.pending.removeAll() }
            return Array(state.pending)
        }
        if let first = lost.first {
            logger.error(
                "usage records lost at shutdown: governance unreachable and no spool could take them",
                metadata: ["records": "\(lost.count)", "first_request_id": "\(first.requestID)"]
            )
        }
    }

    private func beginShutdown() {
        let waiters = state.withLock { state in
            state.isShuttingDown = true
            defer { state.admissionWaiters.removeAll() }
            return Array(state.admissionWaiters.values)
        }
        waiters.forEach { $0.resume() }
        wake.finish()
    }

    // MARK: - For the writer (UsageLedgerWriter)

    /// Whether graceful shutdown has begun.
    var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

    /// Takes up to `limit` of the oldest queued records, and lets waiting requests in once the queue is short enough.
    func take(atMost limit: Int) -> [UsageRecord] {
        let (batch, admitted) = state.withLock { state in
            let count = min(state.pending.count, limit)
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            EdgeMetrics.usageQueued.record(state.pending.count)
            guard state.pending.count < admissionLimit, state.isHoldingAdmissions || !state.admissionWaiters.isEmpty
            else { return (batch, [CheckedContinuation<Void, Never>]()) }
            defer {
                state.admissionWaiters.removeAll()
                state.isHoldingAdmissions = false
            }
            return (batch, Array(state.admissionWaiters.values))
        }
        admitted.forEach { $0.resume() }
        return batch
    }

    /// Puts records back at the front of the queue, in order.
    func requeue(_ batch: [UsageRecord]) {
        state.withLock { state in
            for record in batch.reversed() { state.pending.prepend(record) }
        }
    }

    /// A pause that ends early when the task is cancelled.
    func pause(_ duration: Duration) async {
        try? await Task.sleep(for: duration)
    }

    /// The batch window, the first retry delay and the longest one.
    var settings: (window: Duration, retry: Duration, maximumRetry: Duration) {
        (batchWindow, retryDelay, maximumRetryDelay)
    }

    /// Where records are written.
    var ledger: any GovernanceService { governance }

    /// The recorder's logger.
    var log: Logger { logger }

    /// Signals that records were queued; finishes when graceful shutdown begins.
    var queueWakeups: AsyncStream<Void> { wakeups }
}
