import Synchronization
import Testing

@testable import SluiceVector

@Suite("Vector concurrency")
struct VectorConcurrencyTests {
    @Test(
        "queries are answered while a large batch is being written, and see it land point by point",
        .timeLimit(.minutes(1))
    )
    func queriesInterleaveWithWrites() async throws {
        try await withTemporaryDirectory { directory in
            // Given a collection and a 1,000-point batch (one write-queue job of 1,000 inserts)
            let service = try await openService(directory)
            _ = try await service.createCollection(.init(name: "c", dimension: 64, metric: .l2))
            let seed = makePoints(10, dimension: 64, prefix: "seed")
            _ = try await service.upsert(collection: "c", points: seed, embeddingVersionTag: "")
            let batch = makePoints(1000, dimension: 64, seed: 5)
            let collection = try service.store.collection("c")
            let writing = Flag()

            // When queries run for as long as the batch is in flight
            let observed = try await withThrowingTaskGroup(of: Set<Int>.self) { group in
                group.addTask {
                    defer { writing.lower() }
                    _ = try await service.upsert(collection: "c", points: batch, embeddingVersionTag: "")
                    return []
                }
                group.addTask {
                    var counts = Set<Int>()
                    while writing.isRaised {
                        let found = try await service.query(.init(collection: "c", vector: seed[0].vector, topK: 1))
                        #expect(found.points.first?.id == "seed0")
                        counts.insert(collection.count)
                        await Task.yield()
                    }
                    return counts
                }
                var all = Set<Int>()
                for try await counts in group { all.formUnion(counts) }
                return all
            }

            // Then queries were answered mid-batch, each seeing a different number of points already linked
            let midBatch = observed.filter { $0 > 10 && $0 < 1010 }
            #expect(midBatch.count >= 3, "counts seen while writing: \(observed.sorted())")
            #expect(collection.count == 1010)
        }
    }
}

/// A flag one task lowers and another polls.
private final class Flag: Sendable {
    private let raised = Atomic<Bool>(true)

    var isRaised: Bool { raised.load(ordering: .acquiring) }

    func lower() { raised.store(false, ordering: .releasing) }
}
