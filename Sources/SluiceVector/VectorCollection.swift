import Dispatch
package import Foundation
package import Logging

/// One collection: its HNSW graph, ids and payloads in memory, its WAL and snapshot on disk.
///
/// Writes run one at a time on the collection's serial write queue (a dedicated thread, so a long batch never blocks
/// the cooperative pool): log the record, fsync, then apply it point by point. Each point is linked under the write
/// lock in one short step (see ``HNSWGraph``), so queries, which share the read lock, interleave with a large batch
/// instead of waiting for it. Repair-and-compaction and snapshots also run on the write queue, after the write that
/// triggered them has been acknowledged.
package final class VectorCollection: @unchecked Sendable {
    // @unchecked: the mutable state below is guarded as documented on each group: the graph, ids, payloads and
    // counters change only on `writeQueue` under `lock`'s write side and are read under its read side (or on
    // `writeQueue`, which no other writer can race); the WAL is touched only on `writeQueue` (and while opening,
    // before the collection is shared). Reads and opening live in `VectorCollection+Reads.swift` and
    // `VectorCollection+Opening.swift`, so the guarded state is internal rather than private; nothing outside these
    // three files touches it.

    /// The fixed settings.
    package let descriptor: CollectionDescriptor
    /// The collection's directory.
    package let directory: URL
    let configuration: VectorConfiguration
    let logger: Logger
    let lock = ReadWriteLock()
    private let writeQueue: DispatchQueue
    let scratchPool = SearchScratchPool()
    let statistics = QueryStatistics()

    // Guarded by `lock`; written on `writeQueue` only.
    var graph: HNSWGraph
    var slotByID: [String: UInt32]
    var ids: [String]
    var payloads: [Payload]
    var payloadBytes = 0
    var idBytes = 0
    var persistence = PersistenceInfo()

    /// What opening the WAL found (a torn tail, if any); set once by ``open(_:configuration:logger:)``.
    package internal(set) var lastOpenReport = WriteAheadLog.OpenReport()

    // `writeQueue` only.
    var wal: WriteAheadLog?
    private let writerScratch = SearchScratch()

    static let descriptorFile = "collection.json"
    static let walFile = "wal.log"
    static let snapshotFile = "snapshot.bin"

    init(
        descriptor: CollectionDescriptor,
        directory: URL,
        configuration: VectorConfiguration,
        logger: Logger,
        contents: CollectionSnapshot.Contents?
    ) {
        self.descriptor = descriptor
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
        self.writeQueue = DispatchQueue(label: "sluice.vector.\(descriptor.name).writes")
        if let contents {
            graph = contents.graph
            ids = contents.ids
            payloads = contents.payloads
            slotByID = Dictionary(minimumCapacity: contents.ids.count)
            for (slot, id) in contents.ids.enumerated() where !contents.graph.isDeleted(UInt32(slot)) {
                slotByID[id] = UInt32(slot)
            }
            payloadBytes = contents.payloads.reduce(0) { $0 + Self.bytes(of: $1) }
            idBytes = contents.ids.reduce(0) { $0 + Self.bytes(of: $1) }
        } else {
            graph = HNSWGraph(dimension: descriptor.dimension, metric: descriptor.metric, parameters: descriptor.hnsw)
            ids = []
            payloads = []
            slotByID = [:]
        }
    }

    // MARK: - Writes

    /// Inserts or replaces points; returns once the write is in the WAL on disk and applied.
    ///
    /// - Parameter points: Validated points with distinct ids.
    /// - Returns: The points written and the write's sequence number.
    package func upsert(_ points: [VectorPoint]) async throws -> WriteResult {
        try await onWriteQueue {
            let sequence = try self.log(.upsert(points))
            self.apply(.upsert(points))
            self.afterWrite()
            return WriteResult(count: points.count, sequence: sequence)
        }
    }

    /// Deletes points by id or filter; returns once the write is in the WAL on disk and applied.
    ///
    /// - Parameter selector: Which points.
    /// - Returns: The points deleted and the write's sequence number.
    package func delete(_ selector: DeleteSelector) async throws -> WriteResult {
        try await onWriteQueue {
            // On the write queue nobody else mutates, so reading without the lock is safe.
            var targets: [String]
            switch selector {
            case .ids(let requested):
                var seen = Set<String>()
                targets = requested.filter { self.slotByID[$0] != nil && seen.insert($0).inserted }
            case .filter(let filter):
                targets = []
                for (id, slot) in self.slotByID where filter.matches(self.payloads[Int(slot)]) { targets.append(id) }
            }
            guard !targets.isEmpty else {
                return WriteResult(count: 0, sequence: self.persistence.durableSequence)
            }
            let sequence = try self.log(.delete(targets))
            self.apply(.delete(targets))
            self.afterWrite()
            return WriteResult(count: targets.count, sequence: sequence)
        }
    }

    /// Writes a snapshot now and empties the WAL (write queue).
    package func snapshot() async throws {
        try await onWriteQueue { try self.takeSnapshot() }
    }

    /// Takes a snapshot when the WAL holds records and the last snapshot is older than `interval` (write queue).
    ///
    /// - Parameter interval: The longest a write may live only in the WAL.
    /// - Returns: Whether a snapshot was taken.
    @discardableResult
    package func snapshotIfDue(interval: Duration) async throws -> Bool {
        try await onWriteQueue {
            guard let wal = self.wal, wal.entries > 0 else { return false }
            let last = self.persistence.snapshotTime ?? self.descriptor.createdAt
            guard Date().timeIntervalSince(last) >= Double(interval.components.seconds) else { return false }
            try self.takeSnapshot()
            return true
        }
    }

    /// Stops accepting writes: takes a final snapshot when the WAL holds records, and closes the WAL.
    ///
    /// - Parameter snapshot: Whether to snapshot first (not when the collection is being deleted).
    package func close(snapshot: Bool) async {
        try? await onWriteQueue {
            guard let wal = self.wal else { return }
            if snapshot, wal.entries > 0 {
                do {
                    try self.takeSnapshot()
                } catch {
                    self.logger.error(
                        "vector snapshot at shutdown failed; the WAL still holds every write",
                        metadata: ["collection": "\(self.descriptor.name)", "error": "\(error)"]
                    )
                }
            }
            wal.close()
            self.wal = nil
        }
    }

    /// Appends one record to the WAL and fsyncs it (write queue).
    private func log(_ record: WALRecord) throws -> UInt64 {
        guard let wal else { throw VectorError(.unavailable, "collection '\(descriptor.name)' is closed") }
        let sequence = persistence.durableSequence + 1
        do {
            try wal.append([(sequence, record)])
        } catch {
            logger.error(
                "vector WAL append failed; write not acknowledged",
                metadata: ["collection": "\(descriptor.name)", "error": "\(error)"]
            )
            throw VectorError(.internal, "the write could not be made durable")
        }
        lock.withWriteLock {
            persistence.durableSequence = sequence
            persistence.walEntries = wal.entries
            persistence.walBytes = wal.bytes
        }
        return sequence
    }

    /// Applies a logged record to memory (write queue, or while opening).
    func apply(_ record: WALRecord) {
        switch record {
        case .upsert(let points):
            for point in points {
                let plan = graph.planInsert(point.vector, scratch: writerScratch)
                let bytes = Self.bytes(of: point.payload)
                lock.withWriteLock {
                    if let previous = slotByID[point.id] { removeLocked(previous) }
                    graph.apply(plan)
                    slotByID[point.id] = plan.node
                    ids.append(point.id)
                    idBytes += Self.bytes(of: point.id)
                    payloads.append(point.payload)
                    payloadBytes += bytes
                }
            }
        case .delete(let targets):
            lock.withWriteLock {
                for id in targets {
                    if let slot = slotByID.removeValue(forKey: id) { removeLocked(slot) }
                }
            }
        }
    }

    private func removeLocked(_ slot: UInt32) {
        graph.markDeleted(slot)
        payloadBytes -= Self.bytes(of: payloads[Int(slot)])
        payloads[Int(slot)] = [:]
    }

    /// Snapshots when the WAL is large; repairs and compacts when tombstones pile up (write queue).
    private func afterWrite() {
        let deleted = graph.deletedCount
        if deleted >= 32, Double(deleted) / Double(graph.count) >= configuration.compactionDeletedRatio {
            compact()
        }
        if let wal, wal.bytes >= configuration.snapshotWALBytes {
            do {
                try takeSnapshot()
            } catch {
                logger.error(
                    "vector snapshot failed; the WAL keeps growing and still holds every write",
                    metadata: ["collection": "\(descriptor.name)", "error": "\(error)"]
                )
            }
        }
    }

    /// Builds a tombstone-free copy of the graph off the lock, then swaps it in under the write lock.
    private func compact() {
        let start = ContinuousClock.now
        let before = graph.count
        let (compacted, newSlots) = graph.compacted()
        var newIDs: [String] = []
        var newPayloads: [Payload] = []
        var newSlotByID: [String: UInt32] = [:]
        newIDs.reserveCapacity(compacted.count)
        newPayloads.reserveCapacity(compacted.count)
        newSlotByID.reserveCapacity(compacted.count)
        var newIDBytes = 0
        for (slot, newSlot) in newSlots.enumerated() {
            guard let newSlot else { continue }
            newIDs.append(ids[slot])
            newIDBytes += Self.bytes(of: ids[slot])
            newPayloads.append(payloads[slot])
            newSlotByID[ids[slot]] = newSlot
        }
        lock.withWriteLock {
            graph = compacted
            ids = newIDs
            idBytes = newIDBytes
            payloads = newPayloads
            slotByID = newSlotByID
        }
        logger.info(
            "vector collection compacted",
            metadata: [
                "collection": "\(descriptor.name)", "nodes_before": "\(before)", "nodes_after": "\(compacted.count)",
                "duration": "\(ContinuousClock.now - start)",
            ]
        )
    }

    private func takeSnapshot() throws {
        guard let wal else { throw VectorError(.unavailable, "collection '\(descriptor.name)' is closed") }
        let sequence = persistence.durableSequence
        let bytes = try CollectionSnapshot.write(
            to: directory.appendingPathComponent(Self.snapshotFile),
            .init(sequence: sequence, graph: graph, ids: ids, payloads: payloads)
        )
        try wal.reset()
        lock.withWriteLock {
            persistence.snapshotSequence = sequence
            persistence.snapshotTime = Date()
            persistence.snapshotBytes = bytes
            persistence.walEntries = wal.entries
            persistence.walBytes = wal.bytes
        }
    }

    private func onWriteQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            writeQueue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private static func bytes(of id: String) -> Int { 16 + (id.utf8.count > 15 ? id.utf8.count : 0) }

    private static func bytes(of payload: Payload) -> Int {
        payload.reduce(0) { $0 + 16 + $1.key.utf8.count + $1.value.approximateBytes }
    }
}
