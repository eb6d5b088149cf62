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
                var writer = LedgerWriter(recorder: self, spool: spool)
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

    fileprivate var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

    /// Takes up to `limit` of the oldest queued records, and lets waiting requests in once the queue is short enough.
    fileprivate func take(atMost limit: Int) -> [UsageRecord] {
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
    fileprivate func requeue(_ batch: [UsageRecord]) {
        state.withLock { state in
            for record in batch.reversed() { state.pending.prepend(record) }
        }
    }

    /// A pause that ends early when the task is cancelled.
    fileprivate func pause(_ duration: Duration) async {
        try? await Task.sleep(for: duration)
    }

    fileprivate var settings: (window: Duration, retry: Duration, maximumRetry: Duration) {
        (batchWindow, retryDelay, maximumRetryDelay)
    }

    fileprivate var ledger: any GovernanceService { governance }

    fileprivate var log: Logger { logger }

    fileprivate var queueWakeups: AsyncStream<Void> { wakeups }
}

/// The recorder's writer: one task that owns the spool and the outage state.
private struct LedgerWriter {
    let recorder: UsageRecorder
    var spool: UsageSpool?
    /// Set while governance is unreachable or the spool holds records not yet replayed.
    var outage: Outage?
    /// Whether the spool failed during this outage (logged once).
    var spoolFailed = false

    struct Outage {
        var delay: Duration
        var nextProbe: ContinuousClock.Instant
        var failures: Int
        var spooled: Int
    }

    init(recorder: UsageRecorder, spool: UsageSpool?) {
        self.recorder = recorder
        self.spool = spool
        if let spool, !spool.isEmpty {
            recorder.log.info(
                "replaying the usage spool left by an earlier run",
                metadata: ["directory": "\(spool.directory.path)"]
            )
            outage = Outage(delay: recorder.settings.retry, nextProbe: .now, failures: 0, spooled: 0)
        }
    }

    mutating func run() async {
        var wakeups = recorder.queueWakeups.makeAsyncIterator()
        while !Task.isCancelled {
            if let outage {
                spillQueued()
                if recorder.isShuttingDown {
                    await probe()
                    break
                }
                let now = ContinuousClock.now
                if now >= outage.nextProbe {
                    await probe()
                } else {
                    // Short steps, so that queued records reach the spool and shutdown is seen promptly.
                    await recorder.pause(min(.milliseconds(100), outage.nextProbe - now))
                }
                continue
            }
            guard await wakeups.next() != nil else { break }
            if recorder.queuedCount < UsageRecorder.maximumBatch {
                // Cancelled only when the drain limit passed; the write below then ends at once.
                await recorder.pause(recorder.settings.window)
            }
            // Only what gathered in the window: records that arrive while it is written start the next window.
            await writeQueued(atMost: recorder.queuedCount)
        }
        if outage == nil, !Task.isCancelled { await writeQueued(atMost: .max) }
        // What could not be written goes to disk, to be replayed at the next start.
        spillQueued()
    }

    /// Writes up to `limit` queued records, oldest first, in batches; spools them instead during an outage.
    private mutating func writeQueued(atMost limit: Int) async {
        var remaining = limit
        while remaining > 0, !Task.isCancelled {
            if outage != nil {
                spillQueued()
                return
            }
            let batch = recorder.take(atMost: min(UsageRecorder.maximumBatch, remaining))
            guard !batch.isEmpty else { return }
            remaining -= batch.count
            await write(batch)
        }
    }

    /// Writes one batch; on `unavailable` spools it and starts an outage; a refused batch gets three tries.
    private mutating func write(_ batch: [UsageRecord]) async {
        var failures = 0
        while true {
            do {
                try await recorder.ledger.recordUsage(batch: batch)
                return
            } catch {
                if Task.isCancelled { return recorder.requeue(batch) }
                if (error as? GovernanceError)?.code == .unavailable {
                    recorder.log.warning(
                        "governance unreachable; usage records go to the spool until it answers",
                        metadata: ["records": "\(batch.count)", "error": "\(error)"]
                    )
                    outage = Outage(
                        delay: recorder.settings.retry,
                        nextProbe: .now + recorder.settings.retry,
                        failures: 1,
                        spooled: 0
                    )
                    recorder.requeue(batch)
                    spillQueued()
                    return
                }
                failures += 1
                guard failures < UsageRecorder.attemptsWhenRefused else { break }
                recorder.log.warning(
                    "governance refused a usage batch; retrying",
                    metadata: ["records": "\(batch.count)", "failures": "\(failures)", "error": "\(error)"]
                )
                await recorder.pause(recorder.settings.retry * failures)
            }
        }
        for record in batch {
            recorder.log.error(
                "usage record dropped: governance refused it three times",
                metadata: ["request_id": "\(record.requestID)"]
            )
        }
    }

    /// Moves every queued record to the spool; with no working spool they stay queued (and backpressure holds).
    private mutating func spillQueued() {
        guard spool != nil else { return }
        while true {
            let batch = recorder.take(atMost: UsageRecorder.maximumBatch)
            guard !batch.isEmpty else { return }
            do {
                try spool!.append(batch)
                outage?.spooled += batch.count
                EdgeMetrics.usageSpooled.increment(by: batch.count)
                if spoolFailed {
                    spoolFailed = false
                    recorder.log.info("the usage spool takes records again")
                }
            } catch {
                recorder.requeue(batch)
                if !spoolFailed {
                    spoolFailed = true
                    recorder.log.error(
                        "usage spool failed; records wait in memory and requests wait once the queue is full",
                        metadata: ["error": "\(error)"]
                    )
                }
                return
            }
        }
    }

    /// Tries governance again: replays the spool oldest first, then writes what waits in memory. Ends the outage
    /// when everything was written, or backs off.
    private mutating func probe() async {
        guard var current = outage else { return }
        do {
            if var spool {
                defer { self.spool = spool }
                for segment in try spool.sealSegments() {
                    let (records, skipped) = try spool.records(in: segment)
                    if skipped > 0 {
                        recorder.log.warning(
                            "usage spool segment had unreadable lines (a write cut short); skipped",
                            metadata: ["segment": "\(segment.url.lastPathComponent)", "lines": "\(skipped)"]
                        )
                    }
                    var start = 0
                    while start < records.count {
                        let end = min(start + UsageRecorder.maximumBatch, records.count)
                        try await writeReplayed(Array(records[start..<end]))
                        start = end
                    }
                    try spool.remove(segment)
                }
            }
            while case let batch = recorder.take(atMost: UsageRecorder.maximumBatch), !batch.isEmpty {
                do {
                    try await writeReplayed(batch)
                } catch {
                    recorder.requeue(batch)
                    throw error
                }
            }
        } catch {
            current.failures += 1
            current.delay = min(current.delay * 2, recorder.settings.maximumRetry)
            current.nextProbe = .now + current.delay
            outage = current
            // An outage logs its first failure (in write) and then about once a minute.
            if current.delay >= recorder.settings.maximumRetry, current.failures.isMultiple(of: 12) {
                recorder.log.warning(
                    spool == nil || spoolFailed
                        ? "governance still unreachable; usage records wait in memory"
                        : "governance still unreachable; usage records wait in the spool",
                    metadata: ["spooled": "\(current.spooled)", "failures": "\(current.failures)", "error": "\(error)"]
                )
            }
            return
        }
        recorder.log.info(
            "governance answers again; every waiting usage record is written",
            metadata: ["spooled": "\(current.spooled)", "failures": "\(current.failures)"]
        )
        outage = nil
    }

    /// Writes a replayed batch: `unavailable` (or cancellation) ends the probe, a refusal drops the batch after
    /// three tries, as in ``write(_:)``.
    private func writeReplayed(_ batch: [UsageRecord]) async throws {
        var failures = 0
        while true {
            do {
                try await recorder.ledger.recordUsage(batch: batch)
                return
            } catch {
                if Task.isCancelled || (error as? GovernanceError)?.code == .unavailable { throw error }
                failures += 1
                if failures >= UsageRecorder.attemptsWhenRefused {
                    for record in batch {
                        recorder.log.error(
                            "usage record dropped: governance refused it three times",
                            metadata: ["request_id": "\(record.requestID)"]
                        )
                    }
                    return
                }
                await recorder.pause(recorder.settings.retry * failures)
            }
        }
    }
}
