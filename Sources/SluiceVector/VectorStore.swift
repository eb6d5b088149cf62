import Dispatch
package import Foundation
package import Logging
import Synchronization

/// The collections of one vector instance, under `<data_dir>/vector/collections/<name>/`.
///
/// Opening the store only lists the collections (each reads as loading); ``loadAll()`` then loads each snapshot and
/// replays each WAL off the cooperative pool, and requests for a collection still loading fail with `unavailable`.
/// Creating writes the collection's files into a staging directory that is renamed into place, and deleting renames
/// the directory away before removing it, so a crash never leaves a half-made or half-deleted collection visible.
package final class VectorStore: Sendable {
    /// The directory holding one directory per collection.
    package let root: URL
    let configuration: VectorConfiguration
    let logger: Logger
    /// How the collections' WALs write and sync their frames.
    private let files: any WALFileOperations
    private let entries: Mutex<[String: Entry]>

    enum Entry: Sendable {
        case loading(CollectionDescriptor)
        case creating(CollectionDescriptor)
        case ready(VectorCollection)
        case failed(CollectionDescriptor, String)
    }

    private init(
        root: URL,
        configuration: VectorConfiguration,
        logger: Logger,
        files: any WALFileOperations,
        entries: [String: Entry]
    ) {
        self.root = root
        self.configuration = configuration
        self.logger = logger
        self.files = files
        self.entries = Mutex(entries)
    }

    /// Opens the store, listing its collections as loading; leftovers of interrupted creates and deletes are removed.
    ///
    /// - Parameters:
    ///   - dataDirectory: The data directory.
    ///   - configuration: Service settings.
    ///   - logger: The logger.
    ///   - files: How the collections' WALs write and sync their frames; tests pass a recording one.
    /// - Returns: The store; call ``loadAll()`` to load the collections.
    package static func open(
        dataDirectory: URL,
        configuration: VectorConfiguration,
        logger: Logger,
        files: any WALFileOperations = POSIXFileOperations()
    ) throws -> VectorStore {
        let root = dataDirectory.appendingPathComponent("vector/collections", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var entries: [String: Entry] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
            let directory = root.appendingPathComponent(name, isDirectory: true)
            if name.hasPrefix(".") {
                try? FileManager.default.removeItem(at: directory)
                continue
            }
            do {
                entries[name] = .loading(try VectorCollection.readDescriptor(in: directory))
            } catch {
                logger.error(
                    "vector collection has no readable collection.json; skipped",
                    metadata: ["directory": "\(directory.path)", "error": "\(error)"]
                )
            }
        }
        return VectorStore(root: root, configuration: configuration, logger: logger, files: files, entries: entries)
    }

    /// Loads every collection listed as loading, one after another, off the cooperative pool.
    package func loadAll() async {
        let pending = entries.withLock { entries in
            entries.compactMap { name, entry -> String? in
                if case .loading = entry { return name }
                return nil
            }.sorted()
        }
        for name in pending {
            let directory = root.appendingPathComponent(name, isDirectory: true)
            let start = ContinuousClock.now
            let result: Result<VectorCollection, any Error> = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        returning: Result {
                            try VectorCollection.open(
                                directory,
                                configuration: self.configuration,
                                logger: self.logger,
                                files: self.files
                            )
                        }
                    )
                }
            }
            entries.withLock { entries in
                guard case .loading(let descriptor) = entries[name] else { return }
                switch result {
                case .success(let collection): entries[name] = .ready(collection)
                case .failure(let error): entries[name] = .failed(descriptor, "\(error)")
                }
            }
            switch result {
            case .success(let collection):
                logger.info(
                    "vector collection loaded",
                    metadata: [
                        "collection": "\(name)", "points": "\(collection.count)",
                        "duration": "\(ContinuousClock.now - start)",
                    ]
                )
            case .failure(let error):
                logger.error(
                    "vector collection failed to load",
                    metadata: ["collection": "\(name)", "error": "\(error)"]
                )
            }
        }
    }

    /// Snapshots every ready collection whose WAL holds records older than `interval`; failures are logged and
    /// the WAL keeps the writes.
    ///
    /// - Parameter interval: The longest a write may live only in the WAL.
    package func snapshotDue(interval: Duration) async {
        for collection in readyCollections {
            do {
                try await collection.snapshotIfDue(interval: interval)
            } catch {
                logger.error(
                    "vector snapshot failed; the WAL still holds every write",
                    metadata: ["collection": "\(collection.descriptor.name)", "error": "\(error)"]
                )
            }
        }
    }

    private var readyCollections: [VectorCollection] {
        entries.withLock { entries in
            entries.values.compactMap { entry -> VectorCollection? in
                if case .ready(let collection) = entry { return collection }
                return nil
            }
        }
    }

    /// Snapshots and closes every loaded collection.
    package func close() async {
        let collections = entries.withLock { entries in
            entries.values.compactMap { entry -> VectorCollection? in
                if case .ready(let collection) = entry { return collection }
                return nil
            }
        }
        for collection in collections { await collection.close(snapshot: true) }
    }

    // MARK: - Catalog

    /// A ready collection.
    ///
    /// - Parameter name: Its name.
    /// - Returns: The collection.
    /// - Throws: ``VectorError`` `.notFound`, or `.unavailable` while it loads or when it failed to load.
    package func collection(_ name: String) throws -> VectorCollection {
        let entry = entries.withLock { $0[name] }
        switch entry {
        case .ready(let collection): return collection
        case .loading: throw VectorError(.unavailable, "collection '\(name)' is still loading; retry shortly")
        case .creating: throw VectorError(.unavailable, "collection '\(name)' is being created; retry shortly")
        case .failed(_, let reason): throw VectorError(.unavailable, "collection '\(name)' failed to load: \(reason)")
        case nil: throw VectorError(.notFound, "collection '\(name)' does not exist")
        }
    }

    /// Creates a collection, or returns the existing one when `ifNotExists` and the settings agree.
    ///
    /// - Parameters:
    ///   - descriptor: The settings.
    ///   - ifNotExists: Return a compatible existing collection instead of failing.
    /// - Returns: The collection and whether it was created.
    package func create(_ descriptor: CollectionDescriptor, ifNotExists: Bool) throws -> (VectorCollection, Bool) {
        // Claim the name under the lock, but write the files outside it: lookups for other collections (every
        // query takes one) must not wait for this collection's fsyncs.
        let existing = try entries.withLock { entries -> VectorCollection? in
            if let entry = entries[descriptor.name] {
                guard case .ready(let collection) = entry else {
                    throw VectorError(.unavailable, "collection '\(descriptor.name)' is still loading; retry shortly")
                }
                if ifNotExists, collection.descriptor.isCompatible(with: descriptor) { return collection }
                throw VectorError(
                    .alreadyExists,
                    ifNotExists
                        ? "collection '\(descriptor.name)' exists with other settings"
                        : "collection '\(descriptor.name)' already exists"
                )
            }
            entries[descriptor.name] = .creating(descriptor)
            return nil
        }
        if let existing { return (existing, false) }
        do {
            let collection = try VectorCollection.create(
                descriptor,
                in: root.appendingPathComponent(descriptor.name, isDirectory: true),
                configuration: configuration,
                logger: logger,
                files: files
            )
            entries.withLock { $0[descriptor.name] = .ready(collection) }
            return (collection, true)
        } catch {
            entries.withLock { _ = $0.removeValue(forKey: descriptor.name) }
            logger.error(
                "vector collection could not be created",
                metadata: ["collection": "\(descriptor.name)", "error": "\(error)"]
            )
            throw VectorError(.internal, "collection '\(descriptor.name)' could not be created")
        }
    }

    /// Deletes a collection and its files.
    ///
    /// - Parameters:
    ///   - name: The collection.
    ///   - ifExists: Succeed (returning `false`) when it does not exist.
    /// - Returns: Whether a collection was deleted.
    package func delete(_ name: String, ifExists: Bool) async throws -> Bool {
        let removed = entries.withLock { $0.removeValue(forKey: name) }
        guard let removed else {
            if ifExists { return false }
            throw VectorError(.notFound, "collection '\(name)' does not exist")
        }
        if case .ready(let collection) = removed { await collection.close(snapshot: false) }
        let directory = root.appendingPathComponent(name, isDirectory: true)
        let doomed = root.appendingPathComponent(".deleting-\(name)-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.moveItem(at: directory, to: doomed)
            try FileIO.syncDirectory(root.path)
            try FileManager.default.removeItem(at: doomed)
        } catch {
            logger.error(
                "vector collection files not fully removed",
                metadata: ["collection": "\(name)", "error": "\(error)"]
            )
        }
        return true
    }

    /// Every collection's info, sorted by name.
    ///
    /// - Parameter prefix: Only names with this prefix.
    /// - Returns: The infos; loading or failed collections report their settings with no statistics.
    package func list(prefix: String) -> [CollectionInfo] {
        let snapshot = entries.withLock { $0 }
        return snapshot.keys.sorted().filter { $0.hasPrefix(prefix) }.map { name in
            switch snapshot[name]! {
            case .ready(let collection): collection.info
            case .loading(let descriptor), .creating(let descriptor): Self.placeholderInfo(descriptor)
            case .failed(let descriptor, _): Self.placeholderInfo(descriptor, failed: true)
            }
        }
    }

    /// The info of a collection in any state.
    ///
    /// - Parameter name: The collection.
    /// - Returns: Its info.
    package func info(_ name: String) throws -> CollectionInfo {
        switch entries.withLock({ $0[name] }) {
        case .ready(let collection): return collection.info
        case .loading(let descriptor), .creating(let descriptor): return Self.placeholderInfo(descriptor)
        case .failed(let descriptor, _): return Self.placeholderInfo(descriptor, failed: true)
        case nil: throw VectorError(.notFound, "collection '\(name)' does not exist")
        }
    }

    /// Bytes held by every ready collection.
    package var memoryBytes: Int {
        let collections = entries.withLock { entries in
            entries.values.compactMap { entry -> VectorCollection? in
                if case .ready(let collection) = entry { return collection }
                return nil
            }
        }
        return collections.reduce(0) { $0 + $1.info.memoryBytes }
    }

    private static func placeholderInfo(_ descriptor: CollectionDescriptor, failed: Bool = false) -> CollectionInfo {
        var info = CollectionInfo(
            descriptor: descriptor,
            isReady: false,
            count: 0,
            deletedCount: 0,
            memoryBytes: 0,
            persistence: PersistenceInfo(),
            queries: 0,
            latencyP50Milliseconds: 0,
            latencyP99Milliseconds: 0
        )
        info.hasFailed = failed
        return info
    }
}
