import Foundation
import Logging
import Synchronization
import Testing

@testable import SluiceVector

/// A write is acknowledged only once its WAL record is synced. A crash test cannot see this (a killed process keeps
/// the page cache), so the WAL's file operations are recorded here, in order with the acknowledgements.
@Suite("WAL durability")
struct WALDurabilityTests {
    /// Real file operations that note each write and sync to the WAL, in one log with the test's acknowledgements.
    final class RecordingFiles: WALFileOperations {
        private let events = Mutex<[String]>([])

        var entries: [String] { events.withLock { $0 } }

        func note(_ event: String) { events.withLock { $0.append(event) } }

        func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
            try POSIXFileOperations().write(fd, bytes, path: path)
            if path.hasSuffix("wal.log") { note("write") }
        }

        func sync(_ fd: Int32, path: String) throws {
            try POSIXFileOperations().sync(fd, path: path)
            if path.hasSuffix("wal.log") { note("sync") }
        }
    }

    @Test(
        "every acknowledged upsert and delete was written and synced to the WAL before it returned",
        .timeLimit(.minutes(1))
    )
    func acknowledgementsFollowSyncs() async throws {
        try await withTemporaryDirectory { directory in
            // Given a service whose WAL file operations are recorded
            let files = RecordingFiles()
            let service = try LocalVectorService.open(
                dataDirectory: directory,
                logger: .init(label: "test"),
                files: files
            )
            await service.store.loadAll()
            _ = try await service.createCollection(.init(name: "docs", dimension: 4, metric: .cosine))
            let points = makePoints(6, dimension: 4)
            files.note("created")

            // When points are upserted one call at a time, and one is deleted
            for point in points {
                _ = try await service.upsert(collection: "docs", points: [point], embeddingVersionTag: "")
                files.note("ack")
            }
            _ = try await service.delete(collection: "docs", selector: .ids(["p0"]))
            files.note("ack")

            // Then each acknowledgement came after a write and a sync of its own
            let afterCreate = files.entries.drop { $0 != "created" }.dropFirst()
            #expect(Array(afterCreate) == Array(repeating: ["write", "sync", "ack"], count: 7).flatMap { $0 })
        }
    }
}
