/// Everything an insert changes, computed without the write lock and applied with it in one short step.
package struct HNSWInsertPlan: Sendable {
    /// The slot the new node takes.
    package var node: UInt32
    /// The new node's level.
    package var level: Int
    /// Its padded (and, for cosine, normalized) vector.
    package var vector: [Float]
    /// Its links, per layer 0…level.
    package var links: [[UInt32]]
    /// Existing nodes whose link lists change: the new node added, or the list re-pruned.
    package var updates: [LinkUpdate]

    /// A replacement link list for one node on one layer.
    package struct LinkUpdate: Sendable {
        /// The node.
        package var node: UInt32
        /// The layer.
        package var level: Int
        /// Its new neighbors.
        package var links: [UInt32]
    }
}

extension HNSWGraph {
    /// Plans the insert of a vector as a new node (writer only; no write lock needed, as only the writer mutates).
    ///
    /// - Parameters:
    ///   - vector: The vector, `dimension` finite floats.
    ///   - scratch: Working memory.
    /// - Returns: The plan, for ``apply(_:)``.
    package func planInsert(_ vector: some Collection<Float>, scratch: SearchScratch) -> HNSWInsertPlan {
        let padded = scratch.loadQuery(vector, paddedLength: stride, normalize: metric == .cosine)
        switch metric {
        case .l2: return planInsert(SquaredL2Kernel.self, padded, scratch: scratch)
        case .cosine, .dot: return planInsert(NegatedDotKernel.self, padded, scratch: scratch)
        }
    }

    /// Applies an insert plan (write lock held).
    ///
    /// - Parameter plan: A plan from ``planInsert(_:scratch:)`` made against the current state.
    package func apply(_ plan: HNSWInsertPlan) {
        precondition(Int(plan.node) == count, "an insert plan must be applied before the next one is made")
        reserveCapacity(count + 1)
        let node = Int(plan.node)
        plan.vector.withUnsafeBufferPointer { vector(plan.node).update(from: $0.baseAddress!, count: stride) }
        levels[node] = UInt8(plan.level)
        deleted[node] = false
        if plan.level > 0 {
            let words = plan.level * (maxLinks + 1)
            let block = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
            block.initialize(repeating: 0, count: words)
            upper[node] = block
            upperLinkWords += words
        } else {
            upper[node] = nil
        }
        count += 1
        for (level, links) in plan.links.enumerated() { write(links, to: self.links(plan.node, level: level)) }
        for update in plan.updates { write(update.links, to: links(update.node, level: update.level)) }
        if entryPoint == nil || plan.level > maxLevel {
            entryPoint = plan.node
            maxLevel = plan.level
        }
    }

    func write(_ links: [UInt32], to list: UnsafeMutablePointer<UInt32>) {
        list[0] = UInt32(links.count)
        for (index, link) in links.enumerated() { list[index + 1] = link }
    }

    // MARK: - Planning

    private func planInsert<Kernel: DistanceKernel>(
        _ kernel: Kernel.Type,
        _ padded: UnsafePointer<Float>,
        scratch: SearchScratch
    ) -> HNSWInsertPlan {
        let node = UInt32(count)
        let level = randomLevel()
        let vector = Array(UnsafeBufferPointer(start: padded, count: stride))
        var plan = HNSWInsertPlan(node: node, level: level, vector: vector, links: [], updates: [])
        plan.links = Array(repeating: [], count: level + 1)
        guard let entry = entryPoint else { return plan }

        var current = Neighbor(distance: Kernel.distance(padded, self.vector(entry), count: stride), node: entry)
        if maxLevel > level { current = greedyDescent(Kernel.self, padded, from: current, downTo: level + 1) }
        var entries = [current]
        let acceptor = liveNodes
        let sources = VectorSource(graph: self, pendingNode: node, pendingVector: padded)
        for layer in Swift.stride(from: min(level, maxLevel), through: 0, by: -1) {
            scratch.begin(nodeCount: count)
            searchLayer(
                Kernel.self,
                padded,
                entries: entries,
                ef: parameters.efConstruction,
                level: layer,
                acceptor: acceptor,
                scratch: scratch
            )
            var found = drainClosestFirst(&scratch.results)
            if found.isEmpty { found = entries }  // only tombstones nearby: link to them to stay connected
            let selected = selectNeighbors(Kernel.self, found, maximum: maxLinks, sources: sources)
            plan.links[layer] = selected.map(\.node)
            let layerLimit = layer == 0 ? maxLinks0 : maxLinks
            for neighbor in selected {
                plan.updates.append(
                    .init(
                        node: neighbor.node,
                        level: layer,
                        links: linksAdding(
                            Kernel.self,
                            node,
                            at: neighbor,
                            level: layer,
                            limit: layerLimit,
                            sources: sources
                        )
                    )
                )
            }
            entries = found
        }
        return plan
    }

    /// The link list of `neighbor` after adding `node`, re-pruned with the heuristic when over the limit.
    private func linksAdding<Kernel: DistanceKernel>(
        _ kernel: Kernel.Type,
        _ node: UInt32,
        at neighbor: Neighbor,
        level: Int,
        limit: Int,
        sources: VectorSource
    ) -> [UInt32] {
        let list = links(neighbor.node, level: level)
        let existing = Int(list[0])
        var result = (0..<existing).map { list[$0 + 1] }
        if existing < limit {
            result.append(node)
            return result
        }
        let base = sources.pointer(neighbor.node)
        var candidates = result.map {
            Neighbor(distance: Kernel.distance(base, sources.pointer($0), count: stride), node: $0)
        }
        candidates.append(Neighbor(distance: neighbor.distance, node: node))
        candidates.sort { $0.distance < $1.distance }
        return selectNeighbors(Kernel.self, candidates, maximum: limit, sources: sources).map(\.node)
    }

    /// The neighbor-selection heuristic of the HNSW paper (algorithm 4, without extending candidates): take
    /// candidates closest first, keeping one only if it is closer to the base than to every node kept so far.
    ///
    /// - Parameters:
    ///   - candidates: Candidates with their distance to the base, closest first.
    ///   - maximum: How many to keep at most.
    ///   - sources: Where vectors are, including a node not yet in the graph.
    /// - Returns: The kept candidates, closest first.
    func selectNeighbors<Kernel: DistanceKernel>(
        _ kernel: Kernel.Type,
        _ candidates: [Neighbor],
        maximum: Int,
        sources: VectorSource
    ) -> [Neighbor] {
        guard candidates.count > maximum else { return candidates }
        var selected: [Neighbor] = []
        selected.reserveCapacity(maximum)
        for candidate in candidates {
            let point = sources.pointer(candidate.node)
            var keep = true
            for chosen in selected
            where Kernel.distance(point, sources.pointer(chosen.node), count: stride) < candidate.distance {
                keep = false
                break
            }
            if keep {
                selected.append(candidate)
                if selected.count >= maximum { break }
            }
        }
        return selected
    }
}

/// Resolves node slots to vectors, including one node that is planned but not yet stored.
struct VectorSource {
    let nodes: UnsafeMutableRawPointer
    let nodeBytes: Int
    let pendingNode: UInt32
    let pendingVector: UnsafePointer<Float>?

    init(graph: HNSWGraph, pendingNode: UInt32, pendingVector: UnsafePointer<Float>?) {
        self.nodes = graph.nodes
        self.nodeBytes = graph.nodeBytes
        self.pendingNode = pendingNode
        self.pendingVector = pendingVector
    }

    @inline(__always)
    func pointer(_ node: UInt32) -> UnsafePointer<Float> {
        if node == pendingNode, let pendingVector { return pendingVector }
        return UnsafePointer((nodes + Int(node) &* nodeBytes).assumingMemoryBound(to: Float.self))
    }
}
