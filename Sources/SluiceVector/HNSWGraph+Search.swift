import CSluiceVectorSupport

extension HNSWGraph {
    /// Finds up to `k` accepted nodes nearest to a query.
    ///
    /// Read lock held. The query must be padded to ``stride`` (and normalized for cosine); see
    /// ``SearchScratch/loadQuery(_:paddedLength:normalize:)``.
    ///
    /// - Parameters:
    ///   - query: The padded query.
    ///   - k: How many results.
    ///   - ef: The candidate list size; raised to `k` if smaller.
    ///   - acceptor: Which nodes may be returned.
    ///   - scratch: Working memory.
    /// - Returns: The nearest accepted nodes, closest first.
    package func search<Acceptor: NodeAcceptor>(
        _ query: UnsafePointer<Float>,
        k: Int,
        ef: Int,
        acceptor: Acceptor,
        scratch: SearchScratch
    ) -> [Neighbor] {
        switch metric {
        case .l2: search(SquaredL2Kernel.self, query, k: k, ef: ef, acceptor: acceptor, scratch: scratch)
        case .cosine, .dot: search(NegatedDotKernel.self, query, k: k, ef: ef, acceptor: acceptor, scratch: scratch)
        }
    }

    /// Scores every accepted node and keeps the `k` nearest: exact, and cheaper than the graph when few nodes are
    /// accepted.
    ///
    /// - Parameters:
    ///   - query: The padded query.
    ///   - k: How many results.
    ///   - acceptor: Which nodes may be returned.
    ///   - scratch: Working memory.
    /// - Returns: The nearest accepted nodes, closest first.
    package func exactSearch<Acceptor: NodeAcceptor>(
        _ query: UnsafePointer<Float>,
        k: Int,
        acceptor: Acceptor,
        scratch: SearchScratch
    ) -> [Neighbor] {
        switch metric {
        case .l2: exactSearch(SquaredL2Kernel.self, query, k: k, acceptor: acceptor, scratch: scratch)
        case .cosine, .dot: exactSearch(NegatedDotKernel.self, query, k: k, acceptor: acceptor, scratch: scratch)
        }
    }

    /// The distance between a padded query and a node, under this graph's metric.
    ///
    /// - Parameters:
    ///   - query: The padded query.
    ///   - node: The node's slot.
    /// - Returns: The internal distance.
    package func distance(_ query: UnsafePointer<Float>, to node: UInt32) -> Float {
        switch metric {
        case .l2: SquaredL2Kernel.distance(query, vector(node), count: stride)
        case .cosine, .dot: NegatedDotKernel.distance(query, vector(node), count: stride)
        }
    }

    // MARK: - Specialized

    func search<Kernel: DistanceKernel, Acceptor: NodeAcceptor>(
        _ kernel: Kernel.Type,
        _ query: UnsafePointer<Float>,
        k: Int,
        ef: Int,
        acceptor: Acceptor,
        scratch: SearchScratch
    ) -> [Neighbor] {
        guard let entry = entryPoint, k > 0 else { return [] }
        var current = Neighbor(distance: Kernel.distance(query, vector(entry), count: stride), node: entry)
        if maxLevel > 0 { current = greedyDescent(Kernel.self, query, from: current, downTo: 1) }
        scratch.begin(nodeCount: count)
        searchLayer(
            Kernel.self,
            query,
            entries: CollectionOfOne(current),
            ef: max(ef, k),
            level: 0,
            acceptor: acceptor,
            scratch: scratch
        )
        while scratch.results.count > k { scratch.results.pop() }
        return drainClosestFirst(&scratch.results)
    }

    func exactSearch<Kernel: DistanceKernel, Acceptor: NodeAcceptor>(
        _ kernel: Kernel.Type,
        _ query: UnsafePointer<Float>,
        k: Int,
        acceptor: Acceptor,
        scratch: SearchScratch
    ) -> [Neighbor] {
        guard k > 0 else { return [] }
        scratch.begin(nodeCount: 0)
        let stride = self.stride
        let nodes = self.nodes
        let nodeBytes = self.nodeBytes
        for node in 0..<UInt32(count) where acceptor.accepts(node) {
            let vector = (nodes + Int(node) &* nodeBytes).assumingMemoryBound(to: Float.self)
            let distance = Kernel.distance(query, vector, count: stride)
            if scratch.results.count < k {
                scratch.results.push(Neighbor(distance: distance, node: node))
            } else if distance < scratch.results.top.distance {
                scratch.results.pop()
                scratch.results.push(Neighbor(distance: distance, node: node))
            }
        }
        return drainClosestFirst(&scratch.results)
    }

    /// Walks down the upper layers, moving to any closer neighbor until none is closer (ef = 1).
    func greedyDescent<Kernel: DistanceKernel>(
        _ kernel: Kernel.Type,
        _ query: UnsafePointer<Float>,
        from start: Neighbor,
        downTo lowest: Int
    ) -> Neighbor {
        var current = start
        var level = maxLevel
        while level >= lowest {
            var changed = true
            while changed {
                changed = false
                let list = links(current.node, level: level)
                let linkCount = Int(list[0])
                var index = 1
                while index <= linkCount {
                    let candidate = list[index]
                    let distance = Kernel.distance(query, vector(candidate), count: stride)
                    if distance < current.distance {
                        current = Neighbor(distance: distance, node: candidate)
                        changed = true
                    }
                    index &+= 1
                }
            }
            level -= 1
        }
        return current
    }

    /// The beam search of one layer: leaves the `ef` nearest accepted nodes in `scratch.results`.
    ///
    /// The caller has called `scratch.begin`. Rejected nodes are expanded but never enter the results; with a
    /// selective acceptor the search only stops early once the results are full.
    func searchLayer<Kernel: DistanceKernel, Acceptor: NodeAcceptor>(
        _ kernel: Kernel.Type,
        _ query: UnsafePointer<Float>,
        entries: some Sequence<Neighbor>,
        ef: Int,
        level: Int,
        acceptor: Acceptor,
        scratch: SearchScratch
    ) {
        let stride = self.stride
        let nodes = UnsafeRawPointer(self.nodes)
        let nodeBytes = self.nodeBytes
        let linksOffset = self.linksOffset
        let selective = acceptor.isSelective
        // The heaps and visited set live in locals for the loop: touching them through the scratch object would pay
        // an exclusivity check on every access.
        let visited = scratch.visited
        var candidates = scratch.candidates
        var results = scratch.results
        defer {
            scratch.candidates = candidates
            scratch.results = results
        }
        var lowerBound = Float.infinity
        for entry in entries where visited.visit(entry.node) {
            candidates.push(entry)
            if acceptor.accepts(entry.node) {
                results.push(entry)
                if results.count > ef { results.pop() }
                lowerBound = results.top.distance
            }
        }
        while !candidates.isEmpty {
            let closest = candidates.top
            if closest.distance > lowerBound && (results.count >= ef || !selective) { break }
            candidates.pop()
            let list: UnsafePointer<UInt32>
            if level == 0 {
                let offset = Int(closest.node) &* nodeBytes &+ linksOffset
                list = (nodes + offset).assumingMemoryBound(to: UInt32.self)
            } else {
                list = UnsafePointer(links(closest.node, level: level))
            }
            let linkCount = Int(list[0])
            // Start loading the first two cache lines of every unvisited neighbor before scoring any: the loads overlap
            // instead of stalling one after another, and the hardware prefetcher streams the rest of each vector.
            var index = 1
            while index <= linkCount {
                let neighbor = list[index]
                if !visited.contains(neighbor) {
                    let record = nodes + Int(neighbor) &* nodeBytes
                    sluice_prefetch(record)
                    sluice_prefetch(record + 64)
                }
                index &+= 1
            }
            index = 1
            while index <= linkCount {
                let node = list[index]
                index &+= 1
                guard visited.visit(node) else { continue }
                let vector = (nodes + Int(node) &* nodeBytes).assumingMemoryBound(to: Float.self)
                let distance = Kernel.distance(query, vector, count: stride)
                guard results.count < ef || distance < lowerBound else { continue }
                candidates.push(Neighbor(distance: distance, node: node))
                if acceptor.accepts(node) {
                    results.push(Neighbor(distance: distance, node: node))
                    if results.count > ef { results.pop() }
                    lowerBound = results.top.distance
                }
            }
        }
    }

    /// Empties a farthest-first heap into an array, closest first.
    func drainClosestFirst(_ heap: inout NeighborHeap) -> [Neighbor] {
        var result = [Neighbor](repeating: Neighbor(distance: 0, node: 0), count: heap.count)
        var index = heap.count - 1
        while !heap.isEmpty {
            result[index] = heap.pop()
            index -= 1
        }
        return result
    }
}
