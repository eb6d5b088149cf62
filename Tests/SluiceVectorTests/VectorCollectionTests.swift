import Foundation
import Testing

@testable import SluiceVector

@Suite("Vector collections")
struct VectorCollectionTests {
    @Test("upserts, queries, gets, replaces and deletes points", .timeLimit(.minutes(1)))
    func lifecycle() async throws {
        try await withTemporaryDirectory { directory in
            // Given
            let service = try await openService(directory)
            _ = try await service.createCollection(.init(name: "docs", dimension: 8, metric: .l2))
            let points = makePoints(200, dimension: 8)

            // When
            let write = try await service.upsert(collection: "docs", points: points, embeddingVersionTag: "")
            let hits = try await service.query(
                .init(collection: "docs", vector: points[5].vector, topK: 3, withPayload: true)
            )

            // Then
            #expect(write == WriteResult(count: 200, sequence: 1))
            #expect(hits.points.first?.id == "p5")
            #expect(hits.points.first?.score == 0)
            #expect(hits.points.first?.payload["bucket"] == .int(5))

            // When a point is replaced and another deleted
            var moved = points[7]
            moved.vector = points[5].vector.map { $0 + 0.001 }
            moved.payload = ["new": .bool(true)]
            _ = try await service.upsert(collection: "docs", points: [moved], embeddingVersionTag: "")
            let deleted = try await service.delete(collection: "docs", selector: .ids(["p5", "missing", "p5"]))
            let after = try await service.query(
                .init(collection: "docs", vector: points[5].vector, topK: 1, withPayload: true)
            )
            let fetched = try await service.get(
                collection: "docs",
                ids: ["p7", "p5", "p8"],
                withPayload: true,
                withVectors: true
            )

            // Then
            #expect(deleted == WriteResult(count: 1, sequence: 3))
            #expect(after.points.map(\.id) == ["p7"])
            #expect(after.points.first?.payload == ["new": .bool(true)])
            #expect(fetched.map(\.id) == ["p7", "p8"])
            #expect(fetched.last?.vector == points[8].vector)
            let info = try await service.collectionInfo(name: "docs")
            #expect(info.count == 199)
            #expect(info.deletedCount == 2)
            #expect(info.persistence.durableSequence == 3)
            #expect(info.persistence.walEntries == 3)
        }
    }

    @Test("a restart replays the WAL and then loads the snapshot", .timeLimit(.minutes(1)))
    func restart() async throws {
        try await withTemporaryDirectory { directory in
            let points = makePoints(300, dimension: 16)
            do {
                let service = try await openService(directory)
                _ = try await service.createCollection(
                    .init(name: "c", dimension: 16, metric: .cosine, embeddingVersionTag: "v1")
                )
                _ = try await service.upsert(collection: "c", points: Array(points[0..<150]), embeddingVersionTag: "v1")
                _ = try await service.upsert(collection: "c", points: Array(points[150...]), embeddingVersionTag: "")
                _ = try await service.delete(
                    collection: "c",
                    selector: .filter(.init(must: [.match(key: "bucket", value: .int(3))]))
                )
            }

            // When reopened from the WAL alone (no snapshot was taken)
            let replayed = try await openService(directory)
            let info = try await replayed.collectionInfo(name: "c")
            #expect(info.count == 297)
            #expect(info.persistence.snapshotSequence == 0)
            #expect(info.persistence.durableSequence == 3)
            let query = try await replayed.query(.init(collection: "c", vector: points[42].vector, topK: 1))
            #expect(query.points.map(\.id) == ["p42"])

            // When closed (snapshot) and reopened from the snapshot
            await replayed.store.close()
            let reloaded = try await openService(directory)
            let reloadedInfo = try await reloaded.collectionInfo(name: "c")
            #expect(reloadedInfo.persistence.snapshotSequence == 3)
            #expect(reloadedInfo.persistence.walEntries == 0)
            #expect(reloadedInfo.count == 297)
            let gone = try await reloaded.get(
                collection: "c",
                ids: ["p3", "p103", "p4"],
                withPayload: false,
                withVectors: false
            )
            #expect(gone.map(\.id) == ["p4"])
            let next = try await reloaded.upsert(collection: "c", points: [points[3]], embeddingVersionTag: "")
            #expect(next.sequence == 4)
        }
    }

    @Test("a torn WAL tail is cut and reported, and every whole record survives", .timeLimit(.minutes(1)))
    func tornTail() async throws {
        try await withTemporaryDirectory { directory in
            let points = makePoints(20, dimension: 4)
            do {
                let service = try await openService(directory)
                _ = try await service.createCollection(.init(name: "t", dimension: 4, metric: .dot))
                for point in points {
                    _ = try await service.upsert(collection: "t", points: [point], embeddingVersionTag: "")
                }
            }
            let wal = directory.appendingPathComponent("vector/collections/t/wal.log")
            let whole = try Data(contentsOf: wal)
            // Simulate a crash mid-append: half of a copy of the last frame.
            let handle = try FileHandle(forWritingTo: wal)
            try handle.seekToEnd()
            try handle.write(contentsOf: whole.suffix(40).prefix(25))
            try handle.close()

            let service = try await openService(directory)
            let collection = try service.store.collection("t")
            #expect(collection.lastOpenReport.truncatedBytes == 25)
            #expect(collection.lastOpenReport.truncatedAt == whole.count)
            #expect(collection.lastOpenReport.records == 20)
            #expect(try Data(contentsOf: wal).count == whole.count)
            #expect(collection.count == 20)
        }
    }

    @Test("a corrupt byte inside the last record cuts only that record")
    func corruptLastRecord() async throws {
        try await withTemporaryDirectory { directory in
            let points = makePoints(3, dimension: 4)
            do {
                let service = try await openService(directory)
                _ = try await service.createCollection(.init(name: "t", dimension: 4, metric: .l2))
                for point in points {
                    _ = try await service.upsert(collection: "t", points: [point], embeddingVersionTag: "")
                }
            }
            let wal = directory.appendingPathComponent("vector/collections/t/wal.log")
            var bytes = try Data(contentsOf: wal)
            bytes[bytes.count - 3] ^= 0xFF
            try bytes.write(to: wal)

            let service = try await openService(directory)
            let collection = try service.store.collection("t")
            #expect(collection.lastOpenReport.records == 2)
            #expect(collection.lastOpenReport.truncatedBytes > 0)
            #expect(collection.count == 2)
        }
    }

    @Test("compaction repairs the graph once tombstones pass the threshold, and search still finds live points")
    func compaction() async throws {
        try await withTemporaryDirectory { directory in
            let service = try await openService(directory)
            _ = try await service.createCollection(.init(name: "c", dimension: 16, metric: .l2))
            let points = makePoints(1000, dimension: 16)
            _ = try await service.upsert(collection: "c", points: points, embeddingVersionTag: "")

            // When 30% are deleted (threshold 20%)
            let doomed = points.indices.filter { $0 % 10 < 3 }.map { points[$0].id }
            _ = try await service.delete(collection: "c", selector: .ids(Array(doomed[0..<150])))
            _ = try await service.delete(collection: "c", selector: .ids(Array(doomed[150...])))

            // Then
            let info = try await service.collectionInfo(name: "c")
            #expect(info.count == 700)
            #expect(info.deletedCount == 0)
            let live = points.enumerated().filter { $0.offset % 10 >= 3 }.map(\.element)
            var hits = 0
            for query in live.prefix(50) {
                let found = try await service.query(.init(collection: "c", vector: query.vector, topK: 10))
                let exact = exactNeighbors(of: query.vector, in: live, metric: .l2, k: 10)
                hits += Set(found.points.map(\.id)).intersection(exact).count
            }
            #expect(Double(hits) / 500 >= 0.95)

            // And the compacted graph survives a restart
            await service.store.close()
            let reopened = try await openService(directory)
            let again = try await reopened.query(.init(collection: "c", vector: live[10].vector, topK: 1))
            #expect(again.points.map(\.id) == [live[10].id])
        }
    }

    @Test("a due snapshot empties the WAL, and an empty WAL is not snapshotted")
    func periodicSnapshot() async throws {
        try await withTemporaryDirectory { directory in
            let service = try await openService(directory)
            _ = try await service.createCollection(.init(name: "s", dimension: 4, metric: .l2))
            let collection = try service.store.collection("s")
            #expect(try await collection.snapshotIfDue(interval: .zero) == false)

            _ = try await service.upsert(collection: "s", points: makePoints(10, dimension: 4), embeddingVersionTag: "")
            #expect(try await collection.snapshotIfDue(interval: .seconds(3600)) == false)
            await service.store.snapshotDue(interval: .zero)

            let info = collection.info
            #expect(info.persistence.snapshotSequence == 1)
            #expect(info.persistence.walEntries == 0)
            #expect(info.persistence.snapshotBytes > 0)
            #expect(try await collection.snapshotIfDue(interval: .zero) == false)
        }
    }
}
