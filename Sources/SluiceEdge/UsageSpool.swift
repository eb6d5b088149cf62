package import Foundation
package import SluiceGovernance

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Usage records kept on disk while governance cannot take them, to be written once it can.
///
/// The spool is a folder of segment files (`<sequence>.jsonl`, one JSON record a line), oldest first. Records are
/// appended to the newest segment and made durable (`fsync`) before ``append(_:)`` returns, so a record the spool
/// took survives a crash or a restart of the process. ``UsageRecorder`` replays segments oldest first and removes each
/// once governance has written all of it; ledger writes are idempotent per request id, so a segment replayed twice
/// (a crash between the write and the removal) counts nothing twice.
///
/// Not thread-safe: one task (the recorder's writer) owns it.
///
/// ```swift
/// var spool = try UsageSpool(directory: dataDirectory.appendingPathComponent("usage-spool"))
/// try spool.append(batch)
/// for segment in try spool.sealSegments() {
///     try await governance.recordUsage(batch: try spool.records(in: segment))
///     try spool.remove(segment)
/// }
/// ```
package struct UsageSpool: Sendable {
    /// The folder holding the segments.
    package let directory: URL
    /// A segment is sealed and a new one started once it holds this many bytes.
    package let segmentBytes: Int
    private var current: (sequence: Int, bytes: Int)?
    private var nextSequence: Int

    /// A sealed segment, ready to be replayed.
    package struct Segment: Sendable, Hashable {
        /// The segment's order among the others.
        package var sequence: Int
        /// The segment's file.
        package var url: URL
    }

    /// Opens (creating if needed) a spool folder.
    ///
    /// - Parameters:
    ///   - directory: The folder; created if missing.
    ///   - segmentBytes: The size at which a segment is sealed (4 MiB by default).
    /// - Throws: When the folder cannot be created or read.
    package init(directory: URL, segmentBytes: Int = 4 << 20) throws {
        self.directory = directory
        self.segmentBytes = max(1, segmentBytes)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Segments left by an earlier run are sealed: new records start a new one.
        nextSequence = (try Self.sequences(in: directory).last ?? 0) + 1
    }

    /// Whether any segment holds records.
    package var isEmpty: Bool {
        ((try? Self.sequences(in: directory)) ?? []).isEmpty
    }

    /// Appends records to the newest segment and syncs them to disk.
    ///
    /// - Parameter records: The records, in completion order.
    /// - Throws: `UsageSpool.Failure` when the file cannot be written or synced; the records are then not spooled.
    package mutating func append(_ records: [UsageRecord]) throws {
        guard !records.isEmpty else { return }
        let encoder = JSONEncoder()
        var bytes: [UInt8] = []
        for record in records {
            bytes += try encoder.encode(record)
            bytes.append(UInt8(ascii: "\n"))
        }
        let segment: (sequence: Int, bytes: Int)
        if let current, current.bytes < segmentBytes {
            segment = current
        } else {
            segment = (nextSequence, 0)
            nextSequence += 1
        }
        let url = Self.url(of: segment.sequence, in: directory)
        let isNew = segment.bytes == 0 && !FileManager.default.fileExists(atPath: url.path)
        try Self.appendSynced(bytes, to: url)
        if isNew { Self.syncDirectory(directory) }
        current = (segment.sequence, segment.bytes + bytes.count)
    }

    /// Seals the segment being appended to and lists every segment, oldest first.
    ///
    /// - Returns: The segments to replay.
    /// - Throws: When the folder cannot be read.
    package mutating func sealSegments() throws -> [Segment] {
        current = nil
        return try Self.sequences(in: directory).map { Segment(sequence: $0, url: Self.url(of: $0, in: directory)) }
    }

    /// Reads a segment's records.
    ///
    /// A last line cut short (a crash mid-append; such a record was never acknowledged as spooled) is skipped, as is
    /// any line that does not decode; `skipped` counts them.
    ///
    /// - Parameter segment: The segment.
    /// - Returns: Its records in order, and how many lines were skipped.
    /// - Throws: When the file cannot be read.
    package func records(in segment: Segment) throws -> (records: [UsageRecord], skipped: Int) {
        let data = try Data(contentsOf: segment.url)
        let decoder = JSONDecoder()
        var records: [UsageRecord] = []
        var skipped = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if let record = try? decoder.decode(UsageRecord.self, from: Data(line)) {
                records.append(record)
            } else {
                skipped += 1
            }
        }
        return (records, skipped)
    }

    /// Removes a replayed segment.
    ///
    /// - Parameter segment: The segment, written in full.
    /// - Throws: When the file cannot be removed.
    package func remove(_ segment: Segment) throws {
        try FileManager.default.removeItem(at: segment.url)
        Self.syncDirectory(directory)
    }

    // MARK: - Files

    /// Why the spool could not take records.
    package struct Failure: Error, CustomStringConvertible {
        /// What failed, with the system's error.
        package var description: String
    }

    private static func url(of sequence: Int, in directory: URL) -> URL {
        let digits = String(sequence)
        let name = String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".jsonl"
        return directory.appendingPathComponent(name)
    }

    private static func sequences(in directory: URL) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .compactMap { name in name.hasSuffix(".jsonl") ? Int(name.dropLast(6)) : nil }
            .sorted()
    }

    private static func appendSynced(_ bytes: [UInt8], to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("open", url) }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", url)
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw failure("fsync", url) }
    }

    /// Makes a created or removed file's name durable; best effort, as some file systems refuse it.
    private static func syncDirectory(_ directory: URL) {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func failure(_ operation: String, _ url: URL) -> Failure {
        Failure(description: "\(operation) \(url.path): \(String(cString: strerror(errno)))")
    }
}
