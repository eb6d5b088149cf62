import Testing

@testable import SluiceVector

@Suite("HNSW graph")
struct HNSWGraphTests {
    @Test("finds the exact neighbors of most queries on clustered data", arguments: VectorMetric.allCases)
    func recall(metric: VectorMetric) {
        // Given
        let data = ClusteredVectors(count: 3000, dimension: 48, clusters: 30, seed: 7)
        let graph = HNSWGraph(dimension: 48, metric: metric, parameters: .defaults)
        let scratch = SearchScratch()
        for vector in data.vectors { graph.apply(graph.planInsert(vector, scratch: scratch)) }

        // When
        var hits = 0
        let queries = ClusteredVectors(count: 100, dimension: 48, clusters: 30, seed: 7, pointSeed: 99).vectors
        for query in queries {
            let padded = scratch.loadQuery(query, paddedLength: graph.stride, normalize: metric == .cosine)
            let approximate = graph.search(padded, k: 10, ef: 64, acceptor: graph.liveNodes, scratch: scratch)
            let exact = graph.exactSearch(padded, k: 10, acceptor: graph.liveNodes, scratch: scratch)
            hits += Set(approximate.map(\.node)).intersection(exact.map(\.node)).count
        }

        // Then
        #expect(Double(hits) / 1000 >= 0.95)
    }

    @Test("never returns tombstones")
    func tombstones() {
        let data = ClusteredVectors(count: 500, dimension: 16, clusters: 5, seed: 3)
        let graph = HNSWGraph(dimension: 16, metric: .l2, parameters: .defaults)
        let scratch = SearchScratch()
        for vector in data.vectors { graph.apply(graph.planInsert(vector, scratch: scratch)) }
        for node in stride(from: 0, to: 500, by: 2) { graph.markDeleted(UInt32(node)) }

        let padded = scratch.loadQuery(data.vectors[0], paddedLength: graph.stride, normalize: false)
        let found = graph.search(padded, k: 50, ef: 100, acceptor: graph.liveNodes, scratch: scratch)

        #expect(found.count == 50)
        #expect(found.allSatisfy { $0.node % 2 == 1 })
        #expect(zip(found, found.dropFirst()).allSatisfy { $0.distance <= $1.distance })
    }
}

/// Gaussian clusters around random centres: a stand-in for real embeddings where nearest neighbours mean something.
struct ClusteredVectors {
    var vectors: [[Float]]

    init(count: Int, dimension: Int, clusters: Int, seed: UInt64, pointSeed: UInt64? = nil) {
        var centreRandom = SplitMix64(seed: seed)
        let centres = (0..<clusters).map { _ in
            (0..<dimension).map { _ in Float.random(in: -1...1, using: &centreRandom) }
        }
        var random = SplitMix64(seed: pointSeed ?? seed &+ 1)
        vectors = (0..<count).map { _ in
            let centre = centres[Int.random(in: 0..<clusters, using: &random)]
            return centre.map { $0 + Float.random(in: -0.3...0.3, using: &random) }
        }
    }
}
