package import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A logical write to a collection, as logged.
package enum WALRecord: Sendable, Hashable {
    /// Points inserted or replaced (vectors as given by the caller).
    case upsert([VectorPoint])
    /// Points deleted by id (a filter delete logs the ids it resolved to).
    case delete([String])
}

/// A collection's write-ahead log: an append-only file of checksummed records, each fsynced before the write it
/// holds is acknowledged.
///
/// File format (little-endian): a 16-byte header, the magic `SLUICEWL`, a u32 format version and a u32 reserved;
/// then frames of `u32 body length`, `u32 CRC-32C of the body`, and the body: `u64 sequence`, `u8 kind`
/// (1 upsert, 2 delete) and the record. A crash can leave a torn last frame; ``open(url:replay:)`` detects it (short
/// frame or checksum mismatch), truncates the file to the last whole frame and reports what it cut.
///
/// Used by one writer at a time (the collection's write queue); it is not thread-safe.
package final class WriteAheadLog {
    /// The header magic.
    static let magic: [UInt8] = Array("SLUICEWL".utf8)
    /// The current format version.
    static let version: UInt32 = 1
    static let headerSize = 16
    static let frameHeaderSize = 8
    /// Frames larger than this are treated as corrupt.
    static let maxBodySize = 1 << 30

    /// What opening the log found.
    package struct OpenReport: Sendable, Hashable {
        /// Whole records read.
        package var records = 0
        /// Bytes cut from a torn tail; 0 when the log ended cleanly.
        package var truncatedBytes = 0
        /// The offset the log was cut at, when it was.
        package var truncatedAt: Int?
    }

    /// The log file.
    package let url: URL
    private var fd: Int32
    private let files: any WALFileOperations
    /// The file's size in bytes.
    package private(set) var bytes: Int
    /// Records in the file.
    package private(set) var entries: Int

    private init(url: URL, fd: Int32, files: any WALFileOperations, bytes: Int, entries: Int) {
        self.url = url
        self.fd = fd
        self.files = files
        self.bytes = bytes
        self.entries = entries
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Opens (or creates) a log, handing every whole record to `replay` in order and cutting a torn tail.
    ///
    /// - Parameters:
    ///   - url: The log file.
    ///   - files: How frames are written and synced.
    ///   - replay: Called with each record's sequence number and record.
    /// - Returns: The open log, positioned at its end, and what was found.
    /// - Throws: ``VectorError`` `.internal` for a file that is not a Sluice WAL or an I/O failure.
    package static func open(
        url: URL,
        files: any WALFileOperations = POSIXFileOperations(),
        replay: (UInt64, WALRecord) throws -> Void
    ) throws -> (WriteAheadLog, OpenReport) {
        let existing = FileManager.default.fileExists(atPath: url.path) ? try FileIO.read(url) : []
        var report = OpenReport()
        var validEnd = headerSize
        if existing.count >= headerSize {
            guard Array(existing[0..<8]) == magic else {
                throw VectorError(.internal, "\(url.path) is not a Sluice write-ahead log")
            }
            let version = existing.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
            guard UInt32(littleEndian: version) == Self.version else {
                throw VectorError(
                    .internal,
                    "\(url.path) has WAL format version \(version); this build reads \(Self.version)"
                )
            }
            try existing.withUnsafeBytes { raw in
                var offset = headerSize
                while let (sequence, record, next) = frame(in: raw, at: offset) {
                    try replay(sequence, record)
                    report.records += 1
                    offset = next
                }
                validEnd = offset
            }
            if validEnd < existing.count {
                report.truncatedBytes = existing.count - validEnd
                report.truncatedAt = validEnd
            }
        }
        let fd = try FileIO.open(url.path, flags: O_RDWR | O_CREAT)
        do {
            if existing.count < headerSize {
                // New, or torn while being created: write a fresh header.
                guard ftruncate(fd, 0) == 0 else {
                    throw FileIO.Failure(operation: "ftruncate", path: url.path, code: errno)
                }
                var header = BinaryWriter(capacity: headerSize)
                header.bytes.append(contentsOf: magic)
                header.write(Self.version)
                header.write(UInt32(0))
                try header.bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: url.path) }
                try FileIO.sync(fd, path: url.path)
                try FileIO.syncDirectory(url.deletingLastPathComponent().path)
            } else if report.truncatedBytes > 0 {
                guard ftruncate(fd, off_t(validEnd)) == 0 else {
                    throw FileIO.Failure(operation: "ftruncate", path: url.path, code: errno)
                }
                try FileIO.sync(fd, path: url.path)
            }
            guard lseek(fd, 0, SEEK_END) >= 0 else {
                throw FileIO.Failure(operation: "lseek", path: url.path, code: errno)
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        let log = WriteAheadLog(
            url: url,
            fd: fd,
            files: files,
            bytes: max(validEnd, headerSize),
            entries: report.records
        )
        return (log, report)
    }

    /// Appends records and fsyncs them: when this returns, they survive a crash.
    ///
    /// On failure the file is cut back to where it was, so a half-written frame never precedes later records.
    ///
    /// - Parameter records: Sequence numbers and records, in order.
    package func append(_ records: [(sequence: UInt64, record: WALRecord)]) throws {
        var writer = BinaryWriter()
        for (sequence, record) in records { Self.encodeFrame(sequence: sequence, record: record, into: &writer) }
        do {
            try writer.bytes.withUnsafeBytes { try files.write(fd, $0, path: url.path) }
            try files.sync(fd, path: url.path)
        } catch {
            _ = ftruncate(fd, off_t(bytes))
            _ = lseek(fd, 0, SEEK_END)
            throw error
        }
        bytes += writer.bytes.count
        entries += records.count
    }

    /// Empties the log after a snapshot has made its records redundant.
    package func reset() throws {
        guard ftruncate(fd, off_t(Self.headerSize)) == 0 else {
            throw FileIO.Failure(operation: "ftruncate", path: url.path, code: errno)
        }
        guard lseek(fd, 0, SEEK_END) >= 0 else { throw FileIO.Failure(operation: "lseek", path: url.path, code: errno) }
        try FileIO.sync(fd, path: url.path)
        bytes = Self.headerSize
        entries = 0
    }

    /// Closes the file.
    package func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    // MARK: - Frames

    static func encodeFrame(sequence: UInt64, record: WALRecord, into writer: inout BinaryWriter) {
        var body = BinaryWriter()
        body.write(sequence)
        switch record {
        case .upsert(let points):
            body.write(UInt8(1))
            body.write(UInt32(points.count))
            for point in points {
                body.write(point.id)
                body.write(UInt32(point.vector.count))
                point.vector.withUnsafeBufferPointer { body.write(floats: $0) }
                body.write(point.payload)
            }
        case .delete(let ids):
            body.write(UInt8(2))
            body.write(UInt32(ids.count))
            for id in ids { body.write(id) }
        }
        writer.write(UInt32(body.bytes.count))
        writer.write(CRC32C.checksum(body.bytes))
        writer.bytes.append(contentsOf: body.bytes)
    }

    /// Decodes the frame at `offset`, or returns `nil` if it is short, corrupt or absent.
    static func frame(in raw: UnsafeRawBufferPointer, at offset: Int) -> (UInt64, WALRecord, Int)? {
        guard raw.count - offset >= frameHeaderSize else { return nil }
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let checksum = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let start = offset + frameHeaderSize
        guard length >= 9, length <= maxBodySize, raw.count - start >= length else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: raw[start..<start + length])
        guard CRC32C.update(body) == checksum else { return nil }
        var reader = BinaryReader(body)
        do {
            let sequence = try reader.read(UInt64.self)
            let record: WALRecord
            switch try reader.read(UInt8.self) {
            case 1:
                let count = Int(try reader.read(UInt32.self))
                var points: [VectorPoint] = []
                points.reserveCapacity(min(count, 4096))
                for _ in 0..<count {
                    let id = try reader.readString()
                    let dimension = Int(try reader.read(UInt32.self))
                    let vector = try reader.readFloats(dimension)
                    points.append(VectorPoint(id: id, vector: vector, payload: try reader.readPayload()))
                }
                record = .upsert(points)
            case 2:
                let count = Int(try reader.read(UInt32.self))
                var ids: [String] = []
                for _ in 0..<count { ids.append(try reader.readString()) }
                record = .delete(ids)
            default:
                return nil
            }
            return (sequence, record, start + length)
        } catch {
            return nil
        }
    }
}
