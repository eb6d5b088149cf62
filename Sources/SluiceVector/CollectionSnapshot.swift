package import Foundation

/// The on-disk image of a collection: its graph, ids and payloads at one WAL sequence number.
///
/// File format (little-endian): the magic `SLUICEVS`, a u32 format version and u32 reserved; a body; and a u32
/// CRC-32C of the body. The body: u64 sequence, u32 dimension, u32 stride, u8 metric, u32 m, u32 slot count,
/// u32 tombstone count, i64 entry point (-1 when empty), u32 max level; then per slot its id, a u8 tombstone flag,
/// a u8 level, its payload, `stride` floats, its layer-0 link list (`2m + 1` words) and, above layer 0,
/// `level × (m + 1)` words of upper links. Restart reads it whole, checks the checksum, and replays the WAL records
/// after its sequence number.
package enum CollectionSnapshot {
    static let magic: [UInt8] = Array("SLUICEVS".utf8)
    /// The current format version.
    static let version: UInt32 = 1
    private static let flushBytes = 8 << 20

    /// What a snapshot holds.
    package struct Contents {
        /// The last WAL sequence number included.
        package var sequence: UInt64
        /// The graph.
        package var graph: HNSWGraph
        /// Point id per slot.
        package var ids: [String]
        /// Payload per slot.
        package var payloads: [Payload]
    }

    /// Writes a snapshot atomically (temporary file, fsync, rename, directory fsync).
    ///
    /// The caller guarantees nothing mutates the graph, ids or payloads meanwhile (it runs on the write queue).
    ///
    /// - Parameters:
    ///   - url: The snapshot file.
    ///   - contents: What to write.
    /// - Returns: The file's size in bytes.
    @discardableResult
    package static func write(to url: URL, _ contents: Contents) throws -> Int {
        let graph = contents.graph
        var total = 0
        try FileIO.replaceAtomically(url) { fd in
            var crc: UInt32 = 0
            var writer = BinaryWriter(capacity: flushBytes + 64 * 1024)
            func flush(includeInChecksum: Bool = true) throws {
                try writer.bytes.withUnsafeBytes { raw in
                    if includeInChecksum { crc = CRC32C.update(raw, crc: crc) }
                    try FileIO.writeAll(fd, raw, path: url.path)
                }
                total += writer.bytes.count
                writer.bytes.removeAll(keepingCapacity: true)
            }
            writer.bytes.append(contentsOf: magic)
            writer.write(version)
            writer.write(UInt32(0))
            try flush(includeInChecksum: false)

            writer.write(contents.sequence)
            writer.write(UInt32(graph.dimension))
            writer.write(UInt32(graph.stride))
            writer.write(UInt8(VectorMetric.allCases.firstIndex(of: graph.metric)!))
            writer.write(UInt32(graph.parameters.m))
            writer.write(UInt32(graph.count))
            writer.write(UInt32(graph.deletedCount))
            writer.write(Int64(graph.entryPoint.map(Int64.init) ?? -1))
            writer.write(UInt32(graph.maxLevel))
            for slot in 0..<graph.count {
                let node = UInt32(slot)
                writer.write(contents.ids[slot])
                writer.write(UInt8(graph.isDeleted(node) ? 1 : 0))
                let level = graph.level(of: node)
                writer.write(UInt8(level))
                writer.write(contents.payloads[slot])
                writer.write(floats: UnsafeBufferPointer(start: graph.vector(node), count: graph.stride))
                writer.write(
                    raw: UnsafeRawBufferPointer(start: graph.links(node, level: 0), count: (graph.maxLinks0 + 1) * 4)
                )
                if level > 0 {
                    writer.write(
                        raw: UnsafeRawBufferPointer(
                            start: graph.links(node, level: 1),
                            count: level * (graph.maxLinks + 1) * 4
                        )
                    )
                }
                if writer.bytes.count >= flushBytes { try flush() }
            }
            try flush()
            writer.write(crc)
            try flush(includeInChecksum: false)
        }
        return total
    }

    /// Reads a snapshot and rebuilds the graph.
    ///
    /// - Parameters:
    ///   - url: The snapshot file.
    ///   - descriptor: The collection's settings, which the snapshot must agree with.
    /// - Returns: The contents.
    /// - Throws: ``VectorError`` `.internal` when the file is corrupt, of another version or for other settings.
    package static func read(from url: URL, descriptor: CollectionDescriptor) throws -> Contents {
        let bytes = try FileIO.read(url)
        return try bytes.withUnsafeBytes { raw -> Contents in
            func corrupt(_ reason: String) -> VectorError {
                VectorError(.internal, "snapshot \(url.path) cannot be loaded: \(reason)")
            }
            guard raw.count >= 20, Array(raw[0..<8]) == magic else { throw corrupt("not a Sluice snapshot") }
            let version = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            guard version == Self.version else {
                throw corrupt("format version \(version), this build reads \(Self.version)")
            }
            let body = UnsafeRawBufferPointer(rebasing: raw[16..<raw.count - 4])
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self))
            guard CRC32C.update(body) == stored else { throw corrupt("checksum mismatch") }
            do {
                var reader = BinaryReader(body)
                let sequence = try reader.read(UInt64.self)
                let dimension = Int(try reader.read(UInt32.self))
                let stride = Int(try reader.read(UInt32.self))
                let metricIndex = Int(try reader.read(UInt8.self))
                let m = Int(try reader.read(UInt32.self))
                guard dimension == descriptor.dimension, stride == VectorKernels.paddedLength(dimension),
                    metricIndex < VectorMetric.allCases.count, VectorMetric.allCases[metricIndex] == descriptor.metric,
                    m == descriptor.hnsw.m
                else { throw corrupt("settings differ from collection.json") }
                let count = Int(try reader.read(UInt32.self))
                let deletedCount = Int(try reader.read(UInt32.self))
                let entry = try reader.read(Int64.self)
                let maxLevel = Int(try reader.read(UInt32.self))
                let graph = HNSWGraph(dimension: dimension, metric: descriptor.metric, parameters: descriptor.hnsw)
                graph.reserveCapacity(count)
                var ids: [String] = []
                var payloads: [Payload] = []
                ids.reserveCapacity(count)
                payloads.reserveCapacity(count)
                for slot in 0..<count {
                    ids.append(try reader.readString())
                    let isDeleted = try reader.read(UInt8.self) != 0
                    let level = Int(try reader.read(UInt8.self))
                    payloads.append(try reader.readPayload())
                    let vector = try reader.readRaw(stride * 4)
                    let level0 = try reader.readRaw((graph.maxLinks0 + 1) * 4)
                    let upperWords = level * (graph.maxLinks + 1)
                    let upper = level > 0 ? try reader.readRaw(upperWords * 4) : nil
                    try graph.restoreNode(
                        UInt32(slot),
                        level: level,
                        deleted: isDeleted,
                        vector: vector,
                        level0: level0,
                        upper: upper
                    )
                }
                guard reader.remaining == 0 else { throw corrupt("trailing bytes") }
                try graph.restoreHeader(
                    entryPoint: entry < 0 ? nil : UInt32(entry),
                    maxLevel: maxLevel,
                    deletedCount: deletedCount
                )
                return Contents(sequence: sequence, graph: graph, ids: ids, payloads: payloads)
            } catch let error as VectorError {
                throw error
            } catch {
                throw corrupt("\(error)")
            }
        }
    }
}

extension HNSWGraph {
    /// Appends a node read from a snapshot, checking that its links point inside the graph.
    func restoreNode(
        _ node: UInt32,
        level: Int,
        deleted isDeleted: Bool,
        vector source: UnsafeRawBufferPointer,
        level0 links0: UnsafeRawBufferPointer,
        upper links: UnsafeRawBufferPointer?
    ) throws {
        precondition(Int(node) == count)
        reserveCapacity(count + 1)
        UnsafeMutableRawPointer(vector(node)).copyMemory(from: source.baseAddress!, byteCount: source.count)
        UnsafeMutableRawPointer(self.links(node, level: 0)).copyMemory(
            from: links0.baseAddress!,
            byteCount: links0.count
        )
        levels[Int(node)] = UInt8(level)
        deleted[Int(node)] = isDeleted
        if let links {
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: links.count / 4)
            UnsafeMutableRawPointer(block).copyMemory(from: links.baseAddress!, byteCount: links.count)
            upper[Int(node)] = block
            upperLinkWords += links.count / 4
        } else {
            upper[Int(node)] = nil
        }
        count += 1
    }

    /// Sets the graph-wide fields after every node is restored, validating every link.
    func restoreHeader(entryPoint: UInt32?, maxLevel: Int, deletedCount: Int) throws {
        struct Invalid: Error, CustomStringConvertible {
            var description: String
        }
        for slot in 0..<count {
            let node = UInt32(slot)
            for layer in 0...level(of: node) {
                let list = links(node, level: layer)
                let limit = layer == 0 ? maxLinks0 : maxLinks
                guard Int(list[0]) <= limit else { throw Invalid(description: "node \(slot) has too many links") }
                for index in 0..<Int(list[0]) {
                    let target = list[index + 1]
                    guard Int(target) < count, level(of: target) >= layer else {
                        throw Invalid(description: "node \(slot) links to a missing node")
                    }
                }
            }
        }
        if let entryPoint {
            guard Int(entryPoint) < count, level(of: entryPoint) == maxLevel else {
                throw Invalid(description: "bad entry point")
            }
        } else if count > 0 {
            throw Invalid(description: "missing entry point")
        }
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        self.deletedCount = deletedCount
    }
}
