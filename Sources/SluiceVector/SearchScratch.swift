import Synchronization

/// Per-search working memory: a visited set with generation tags, two heaps and a padded query buffer.
///
/// Searches take one from a ``SearchScratchPool`` and give it back, so a query allocates nothing once the pool is
/// warm. The visited set is an array of 16-bit tags: a node counts as visited when its tag equals the current
/// generation, so clearing it between searches is one increment (and a full reset every 65,535 searches).
package final class SearchScratch: @unchecked Sendable {
    // @unchecked: a scratch is used by one search at a time. The pool hands it out under a mutex and the search
    // gives it back when done, so no two threads touch its memory concurrently; that is also why its properties
    // skip dynamic exclusivity checks.

    /// Candidates to expand, closest first.
    @exclusivity(unchecked) package var candidates = NeighborHeap(farthestOnTop: false)
    /// The best results so far, farthest first.
    @exclusivity(unchecked) package var results = NeighborHeap(farthestOnTop: true)
    /// The query, copied and padded with zeros (and normalized for cosine).
    @exclusivity(unchecked) package private(set) var query: UnsafeMutablePointer<Float>
    @exclusivity(unchecked) private var queryCapacity: Int
    @exclusivity(unchecked) private var tags: UnsafeMutablePointer<UInt16>
    @exclusivity(unchecked) private var tagCapacity: Int
    @exclusivity(unchecked) private var generation: UInt16 = 0

    /// Creates scratch space.
    package init() {
        queryCapacity = 16
        query = .allocate(capacity: queryCapacity)
        tagCapacity = 1024
        tags = .allocate(capacity: tagCapacity)
        tags.initialize(repeating: 0, count: tagCapacity)
    }

    deinit {
        candidates.deallocate()
        results.deallocate()
        query.deallocate()
        tags.deallocate()
    }

    /// Starts a search over `nodeCount` nodes: empties the heaps and the visited set.
    ///
    /// - Parameter nodeCount: The number of node slots in the graph.
    package func begin(nodeCount: Int) {
        candidates.removeAll()
        results.removeAll()
        if nodeCount > tagCapacity {
            tags.deallocate()
            tagCapacity = max(nodeCount, tagCapacity * 2)
            tags = .allocate(capacity: tagCapacity)
            tags.initialize(repeating: 0, count: tagCapacity)
            generation = 0
        }
        if generation == .max {
            tags.update(repeating: 0, count: tagCapacity)
            generation = 0
        }
        generation &+= 1
    }

    /// Marks a node visited; returns `false` if it already was.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: Whether the node was newly visited.
    @inline(__always)
    package func visit(_ node: UInt32) -> Bool { visited.visit(node) }

    /// The visited set of the current search, as a value a hot loop can keep in registers.
    package var visited: VisitedSet { VisitedSet(tags: tags, generation: generation) }

    /// Copies a query into the padded buffer.
    ///
    /// - Parameters:
    ///   - vector: The query's components.
    ///   - paddedLength: The padded length of the collection's vectors.
    ///   - normalize: Whether to scale it to unit length (cosine).
    /// - Returns: The padded query.
    package func loadQuery(_ vector: some Collection<Float>, paddedLength: Int, normalize: Bool) -> UnsafePointer<Float>
    {
        if paddedLength > queryCapacity {
            query.deallocate()
            queryCapacity = paddedLength
            query = .allocate(capacity: queryCapacity)
        }
        var index = 0
        for component in vector {
            query[index] = component
            index += 1
        }
        while index < paddedLength {
            query[index] = 0
            index += 1
        }
        if normalize { VectorKernels.normalize(query, count: paddedLength) }
        return UnsafePointer(query)
    }
}

/// The visited set of one search: a node is visited when its tag equals the search's generation.
package struct VisitedSet {
    let tags: UnsafeMutablePointer<UInt16>
    let generation: UInt16

    /// Whether a node was visited, without marking it.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: `true` if it was visited.
    @inline(__always)
    package func contains(_ node: UInt32) -> Bool { tags[Int(node)] == generation }

    /// Marks a node visited; returns `false` if it already was.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: Whether the node was newly visited.
    @inline(__always)
    package func visit(_ node: UInt32) -> Bool {
        let slot = tags + Int(node)
        if slot.pointee == generation { return false }
        slot.pointee = generation
        return true
    }
}

/// A pool of ``SearchScratch`` so concurrent searches each get their own without allocating.
package final class SearchScratchPool: Sendable {
    private let free = Mutex<[SearchScratch]>([])

    /// Creates an empty pool.
    package init() {}

    /// Runs `body` with a scratch from the pool and returns it afterwards.
    ///
    /// - Parameter body: The search.
    /// - Returns: What `body` returns.
    package func withScratch<T>(_ body: (SearchScratch) throws -> T) rethrows -> T {
        let scratch = free.withLock { $0.popLast() } ?? SearchScratch()
        defer { free.withLock { $0.append(scratch) } }
        return try body(scratch)
    }
}
