package import Foundation
package import Logging

extension VectorCollection {
    // MARK: - Opening

    /// Creates a new collection's files in `directory` (which must not exist yet) and opens it.
    ///
    /// - Parameters:
    ///   - descriptor: Its settings.
    ///   - directory: Its directory.
    ///   - configuration: Service settings.
    ///   - logger: The logger.
    ///   - files: How the WAL writes and syncs its frames.
    /// - Returns: The empty collection.
    package static func create(
        _ descriptor: CollectionDescriptor,
        in directory: URL,
        configuration: VectorConfiguration,
        logger: Logger,
        files: any WALFileOperations = POSIXFileOperations()
    ) throws -> VectorCollection {
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".creating-\(descriptor.name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            try writeDescriptor(descriptor, to: staging)
            let (log, _) = try WriteAheadLog.open(url: staging.appendingPathComponent(walFile)) { _, _ in }
            log.close()
            try FileIO.syncDirectory(staging.path)
            try FileManager.default.moveItem(at: staging, to: directory)
            try FileIO.syncDirectory(parent.path)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        return try open(directory, configuration: configuration, logger: logger, files: files)
    }

    /// Reads a collection's settings from its directory.
    ///
    /// - Parameter directory: The collection's directory.
    /// - Returns: Its descriptor.
    package static func readDescriptor(in directory: URL) throws -> CollectionDescriptor {
        let data = try Data(contentsOf: directory.appendingPathComponent(descriptorFile))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(CollectionDescriptor.self, from: data)
    }

    /// Opens a collection: loads its snapshot, replays its WAL (cutting a torn tail) and opens the WAL for writes.
    ///
    /// - Parameters:
    ///   - directory: The collection's directory.
    ///   - configuration: Service settings.
    ///   - logger: The logger.
    ///   - files: How the WAL writes and syncs its frames.
    /// - Returns: The collection, ready to serve.
    package static func open(
        _ directory: URL,
        configuration: VectorConfiguration,
        logger: Logger,
        files: any WALFileOperations = POSIXFileOperations()
    ) throws -> VectorCollection {
        let descriptor = try readDescriptor(in: directory)
        let snapshotURL = directory.appendingPathComponent(snapshotFile)
        var contents: CollectionSnapshot.Contents?
        var snapshotBytes = 0
        var snapshotTime: Date?
        if FileManager.default.fileExists(atPath: snapshotURL.path) {
            contents = try CollectionSnapshot.read(from: snapshotURL, descriptor: descriptor)
            let attributes = try FileManager.default.attributesOfItem(atPath: snapshotURL.path)
            snapshotBytes = (attributes[.size] as? Int) ?? 0
            snapshotTime = attributes[.modificationDate] as? Date
        }
        let collection = VectorCollection(
            descriptor: descriptor,
            directory: directory,
            configuration: configuration,
            logger: logger,
            contents: contents
        )
        let snapshotSequence = contents?.sequence ?? 0
        var lastSequence = snapshotSequence
        let (log, report) = try WriteAheadLog.open(url: directory.appendingPathComponent(walFile), files: files) {
            sequence,
            record in
            guard sequence > snapshotSequence else { return }
            guard sequence == lastSequence + 1 else {
                throw VectorError(.internal, "WAL of \(descriptor.name) skips from \(lastSequence) to \(sequence)")
            }
            collection.apply(record)
            lastSequence = sequence
        }
        if report.truncatedBytes > 0 {
            logger.warning(
                "vector WAL had a torn tail; cut it",
                metadata: [
                    "collection": "\(descriptor.name)", "offset": "\(report.truncatedAt ?? 0)",
                    "bytes_cut": "\(report.truncatedBytes)", "records_kept": "\(report.records)",
                ]
            )
        }
        collection.wal = log
        collection.persistence = PersistenceInfo(
            durableSequence: lastSequence,
            snapshotSequence: snapshotSequence,
            snapshotTime: snapshotTime,
            snapshotBytes: snapshotBytes,
            walEntries: log.entries,
            walBytes: log.bytes
        )
        collection.lastOpenReport = report
        return collection
    }

    static func writeDescriptor(_ descriptor: CollectionDescriptor, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(descriptor)
        try FileIO.replaceAtomically(directory.appendingPathComponent(descriptorFile)) { fd in
            try data.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: directory.path) }
        }
    }
}
