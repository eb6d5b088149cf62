import Foundation
import Logging
import Metrics
import SluiceGovernance

/// The ``UsageRecorder``'s writer: one task that owns the spool and the outage state.
///
/// Normally it writes each batch window's records to governance. On `unavailable` it starts an outage: queued records
/// go to the spool (in short steps, so memory stays small and shutdown is seen promptly) and governance is probed
/// with exponential backoff; a probe replays the spool oldest first, then what waits in memory, and ends the outage
/// when everything is written. At shutdown it writes what it can and spools the rest.
struct UsageLedgerWriter {
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
