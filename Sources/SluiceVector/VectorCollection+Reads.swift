import Foundation

extension VectorCollection {
    // MARK: - Reads

    /// Finds the nearest live points, optionally filtered.
    ///
    /// A filter estimated (from a sample of the graph) to match at most `exact_search_max_matches` points is answered
    /// by scoring the matching points exactly, which keeps recall at 1 for very selective filters; a broader filter
    /// walks the graph with the filter applied to results and the candidate list widened by √(1/selectivity), at
    /// most 4×.
    ///
    /// - Parameter query: A validated query.
    /// - Returns: Results, best first.
    package func query(_ query: VectorQuery) -> QueryResult {
        let start = ContinuousClock.now
        let ef = max(query.efSearch ?? descriptor.hnsw.efSearch, query.topK)
        let points = scratchPool.withScratch { scratch in
            lock.withReadLock { () -> [ScoredPoint] in
                let graph = self.graph
                let padded = scratch.loadQuery(
                    query.vector,
                    paddedLength: graph.stride,
                    normalize: descriptor.metric == .cosine
                )
                let found: [Neighbor]
                if let filter = query.filter, !filter.isEmpty {
                    let payloads = self.payloads
                    let acceptor = graph.matchingLiveNodes { filter.matches(payloads[Int($0)]) }
                    let (matches, selectivity) = estimateMatches(acceptor, in: graph)
                    if matches <= Double(configuration.exactSearchMaxMatches) {
                        found = graph.exactSearch(padded, k: query.topK, acceptor: acceptor, scratch: scratch)
                    } else {
                        // Results only take matching nodes, so the walk already goes ~1/selectivity times wider
                        // than `ef`; a further √(1/selectivity), at most 4×, restores recall without scoring
                        // most of the graph.
                        let widened = ef * Int(min(4, (1 / max(selectivity, 0.01)).squareRoot().rounded(.up)))
                        found = graph.search(padded, k: query.topK, ef: widened, acceptor: acceptor, scratch: scratch)
                    }
                } else {
                    found = graph.search(padded, k: query.topK, ef: ef, acceptor: graph.liveNodes, scratch: scratch)
                }
                return found.compactMap { neighbor in
                    let score = descriptor.metric.score(fromDistance: neighbor.distance)
                    if let threshold = query.scoreThreshold {
                        if descriptor.metric.higherIsCloser ? score < threshold : score > threshold { return nil }
                    }
                    let slot = Int(neighbor.node)
                    return ScoredPoint(
                        id: ids[slot],
                        score: score,
                        payload: query.withPayload ? payloads[slot] : [:],
                        vector: query.withVectors ? storedVector(slot, in: graph) : []
                    )
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        let microseconds = Int(
            elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        )
        statistics.record(milliseconds: Double(microseconds) / 1000)
        return QueryResult(points: points, tookMicroseconds: microseconds)
    }

    /// Fetches points by id, in the order asked; missing ids are left out.
    ///
    /// - Parameters:
    ///   - ids: The ids.
    ///   - withPayload: Return payloads.
    ///   - withVectors: Return vectors.
    /// - Returns: The points found.
    package func get(_ ids: [String], withPayload: Bool, withVectors: Bool) -> [VectorPoint] {
        lock.withReadLock {
            ids.compactMap { id in
                guard let slot = slotByID[id].map(Int.init) else { return nil }
                return VectorPoint(
                    id: id,
                    vector: withVectors ? storedVector(slot, in: graph) : [],
                    payload: withPayload ? payloads[slot] : [:]
                )
            }
        }
    }

    /// The collection's settings and statistics.
    package var info: CollectionInfo {
        let stats = statistics.snapshot
        return lock.withReadLock {
            let mapBytes = slotByID.capacity * (MemoryLayout<String>.stride + MemoryLayout<UInt32>.stride + 1)
            return CollectionInfo(
                descriptor: descriptor,
                isReady: true,
                count: graph.count - graph.deletedCount,
                deletedCount: graph.deletedCount,
                memoryBytes: graph.memoryBytes + idBytes + mapBytes + payloadBytes
                    + payloads.capacity * MemoryLayout<Payload>.stride,
                persistence: persistence,
                queries: stats.queries,
                latencyP50Milliseconds: stats.p50,
                latencyP99Milliseconds: stats.p99
            )
        }
    }

    /// Live points (read lock).
    package var count: Int { lock.withReadLock { graph.count - graph.deletedCount } }

    private func storedVector(_ slot: Int, in graph: HNSWGraph) -> [Float] {
        Array(UnsafeBufferPointer(start: graph.vector(UInt32(slot)), count: descriptor.dimension))
    }

    /// Estimates how many live points an acceptor takes, from up to 1,024 evenly spaced slots (all of them when the
    /// graph is small).
    private func estimateMatches(_ acceptor: MatchingLiveNodes, in graph: HNSWGraph) -> (Double, Double) {
        let total = graph.count
        guard total > 0 else { return (0, 0) }
        let step = max(1, total / 1024)
        var sampled = 0
        var matched = 0
        var slot = 0
        while slot < total {
            sampled += 1
            if acceptor.accepts(UInt32(slot)) { matched += 1 }
            slot += step
        }
        let selectivity = Double(matched) / Double(sampled)
        return (selectivity * Double(total), selectivity)
    }
}
