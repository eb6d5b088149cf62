import Foundation
import Logging
import ServiceLifecycle
import SluiceEdge
import SluiceServer
import SluiceTesting
import SluiceVector
import Testing

@Suite("Vector store service", .timeLimit(.minutes(1)))
struct VectorStoreServiceTests {
    private static let point = VectorPoint(id: "a", vector: [1, 2])

    /// Polls `condition` every 20 ms until it holds, for at most `timeout`.
    private static func eventually(
        _ what: String,
        timeout: Duration = .seconds(10),
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("loads at start, snapshots an old WAL while running, and snapshots again on graceful shutdown")
    func lifecycle() async throws {
        // Given a collection whose WAL holds a write that no snapshot covers
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-vss-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = VectorConfiguration()
        configuration.snapshotIntervalSeconds = 1
        let first = try LocalVectorService.open(dataDirectory: directory, configuration: configuration, logger: .silent)
        await first.store.loadAll()
        _ = try await first.createCollection(CreateCollectionRequest(name: "v", dimension: 2, metric: .l2))
        _ = try await first.upsert(collection: "v", points: [Self.point], embeddingVersionTag: "")

        // When the service runs on the same directory
        let vectors = try LocalVectorService.open(
            dataDirectory: directory,
            configuration: configuration,
            logger: .silent
        )
        let service = VectorStoreService(
            store: vectors.store,
            snapshotInterval: .seconds(1),
            checkInterval: .milliseconds(50)
        )
        let group = ServiceGroup(services: [service], logger: .silent)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }

            // Then the collection loads, with the write replayed from the WAL
            try await Self.eventually("the collection is ready") {
                try await vectors.collectionInfo(name: "v").isReady
            }
            let loaded = try await vectors.collectionInfo(name: "v")
            #expect(loaded.count == 1 && loaded.persistence.walEntries == 1)
            #expect(loaded.persistence.snapshotSequence == 0)

            // And once the WAL is older than the interval, a snapshot takes it in
            _ = try await vectors.upsert(collection: "v", points: [Self.point], embeddingVersionTag: "")
            try await Self.eventually("a snapshot covers both writes") {
                try await vectors.collectionInfo(name: "v").persistence.snapshotSequence == 2
            }
            #expect(try await vectors.collectionInfo(name: "v").persistence.walEntries == 0)

            // When one more write lands and the process shuts down gracefully
            _ = try await vectors.upsert(collection: "v", points: [Self.point], embeddingVersionTag: "")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }

        // Then the final snapshot holds it, and the WAL is empty for the next start
        let reopened = try LocalVectorService.open(
            dataDirectory: directory,
            configuration: configuration,
            logger: .silent
        )
        await reopened.store.loadAll()
        let info = try await reopened.collectionInfo(name: "v")
        #expect(info.persistence.snapshotSequence == 3 && info.persistence.walEntries == 0)
        #expect(info.count == 1)
        await reopened.store.close()
    }

    @Test("holds readiness off until the collections have loaded")
    func readinessWaitsForLoad() async throws {
        // Given a data directory with a collection, and a readiness flag that is on but held for the store
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-vss-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try LocalVectorService.open(dataDirectory: directory, logger: .silent)
        await first.store.loadAll()
        _ = try await first.createCollection(CreateCollectionRequest(name: "v", dimension: 2, metric: .l2))
        let readiness = Readiness()
        readiness.set(true)
        readiness.hold()
        let vectors = try LocalVectorService.open(dataDirectory: directory, logger: .silent)
        let service = VectorStoreService(store: vectors.store, snapshotInterval: .seconds(60)) { readiness.release() }
        #expect(!readiness.isReady)

        // When the service runs
        let group = ServiceGroup(services: [service], logger: .silent)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }

            // Then readiness turns on, and by then the collection is ready
            try await Self.eventually("readiness is released") { readiness.isReady }
            #expect(try await vectors.collectionInfo(name: "v").isReady)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
