extension HNSWGraph {
    /// A copy of the graph without its tombstones: links that pointed at a tombstone are repaired from the
    /// tombstone's own live neighbors (re-pruned with the selection heuristic), then every live node is renumbered.
    ///
    /// Writer only; reads without the write lock (nobody else mutates), so searches go on meanwhile. The caller swaps
    /// the result in under the write lock.
    ///
    /// - Returns: The compact graph and, per old slot, its new slot (`nil` for tombstones).
    package func compacted() -> (graph: HNSWGraph, newSlots: [UInt32?]) {
        switch metric {
        case .l2: compacted(SquaredL2Kernel.self)
        case .cosine, .dot: compacted(NegatedDotKernel.self)
        }
    }

    private func compacted<Kernel: DistanceKernel>(_ kernel: Kernel.Type) -> (graph: HNSWGraph, newSlots: [UInt32?]) {
        var newSlots = [UInt32?](repeating: nil, count: count)
        var liveCount: UInt32 = 0
        for slot in 0..<count where !deleted[slot] {
            newSlots[slot] = liveCount
            liveCount += 1
        }
        let result = HNSWGraph(dimension: dimension, metric: metric, parameters: parameters, seed: random.next())
        result.reserveCapacity(Int(liveCount))
        let sources = VectorSource(graph: self, pendingNode: .max, pendingVector: nil)
        var entry: (node: UInt32, level: Int)?
        for slot in 0..<count where !deleted[slot] {
            let node = UInt32(slot)
            let level = self.level(of: node)
            var repaired: [[UInt32]] = []
            for layer in 0...level {
                let limit = layer == 0 ? maxLinks0 : maxLinks
                let candidates = repairedLinks(of: node, level: layer)
                var kept = candidates
                if candidates.count > limit {
                    let base = vector(node)
                    let scored = candidates.map {
                        Neighbor(distance: Kernel.distance(base, vector($0), count: stride), node: $0)
                    }.sorted { $0.distance < $1.distance }
                    kept = selectNeighbors(Kernel.self, scored, maximum: limit, sources: sources).map(\.node)
                }
                repaired.append(kept.map { newSlots[Int($0)]! })
            }
            result.appendCompacted(vector: vector(node), level: level, links: repaired)
            if entry == nil || level > entry!.level { entry = (newSlots[slot]!, level) }
        }
        if let entryPoint, !deleted[Int(entryPoint)] {
            entry = (newSlots[Int(entryPoint)]!, maxLevel)
        }
        result.entryPoint = entry?.node
        result.maxLevel = entry?.level ?? 0
        return (result, newSlots)
    }

    /// A live node's links on a layer with each tombstone replaced by that tombstone's live links (deduplicated).
    private func repairedLinks(of node: UInt32, level: Int) -> [UInt32] {
        let list = links(node, level: level)
        var result: [UInt32] = []
        var seen: Set<UInt32> = [node]
        for index in 0..<Int(list[0]) {
            let neighbor = list[index + 1]
            if !deleted[Int(neighbor)] {
                if seen.insert(neighbor).inserted { result.append(neighbor) }
                continue
            }
            let second = links(neighbor, level: level)
            for inner in 0..<Int(second[0]) {
                let candidate = second[inner + 1]
                if !deleted[Int(candidate)], seen.insert(candidate).inserted { result.append(candidate) }
            }
        }
        return result
    }

    private func appendCompacted(vector source: UnsafePointer<Float>, level: Int, links: [[UInt32]]) {
        let node = UInt32(count)
        reserveCapacity(count + 1)
        vector(node).update(from: source, count: stride)
        levels[Int(node)] = UInt8(level)
        deleted[Int(node)] = false
        if level > 0 {
            let words = level * (maxLinks + 1)
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
            block.initialize(repeating: 0, count: words)
            upper[Int(node)] = block
            upperLinkWords += words
        } else {
            upper[Int(node)] = nil
        }
        count += 1
        for (layer, list) in links.enumerated() { write(list, to: self.links(node, level: layer)) }
    }
}
