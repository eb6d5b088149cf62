import Foundation
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

            // When queries run on their own thread for as long as the batch is in flight (a thread, not a task, so a
            // busy cooperative pool cannot starve them: the write queue is a thread too)
            let observed = Mutex<Set<Int>>([])
            let finished = Flag()
            let reader = Thread {
                defer { finished.lower() }
                while writing.isRaised {
                    let found = collection.query(.init(collection: "c", vector: seed[0].vector, topK: 1))
                    let count = collection.count
                    observed.withLock { _ = $0.insert(count) }
                    if found.points.first?.id != "seed0" { observed.withLock { _ = $0.insert(-1) } }
                }
            }
            reader.start()
            _ = try await service.upsert(collection: "c", points: batch, embeddingVersionTag: "")
            writing.lower()
            while finished.isRaised { await Task.yield() }
            let counts = observed.withLock { $0 }

            // Then queries were answered mid-batch, each seeing a different number of points already linked
            #expect(!counts.contains(-1), "a query missed the seed point")
            let midBatch = counts.filter { $0 > 10 && $0 < 1010 }
            #expect(midBatch.count >= 3, "counts seen while writing: \(counts.sorted())")
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
