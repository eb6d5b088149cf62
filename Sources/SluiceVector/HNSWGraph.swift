import Foundation

/// The storage of a hierarchical navigable small world graph: padded vectors, links per layer and tombstones.
///
/// Memory layout, one slot per node:
/// - `nodes`: one 64-byte-aligned record of ``nodeBytes`` per node: its vector (`stride` floats, the dimension
///   padded to 16 lanes), then its layer-0 link list (`maxLinks0 + 1` UInt32: a count, then up to `2m` neighbor
///   slots). Keeping a node's vector and links together means one expansion touches one region of memory.
/// - `upper`: for nodes above layer 0, one block of `level × (m + 1)` UInt32 (layers 1…level);
/// - `levels` and `deleted`: one byte each.
///
/// Concurrency protocol (the owner, ``VectorCollection``, enforces it with a ``ReadWriteLock``):
/// - searches read under the read lock, any number at once;
/// - there is one writer at a time (the collection's serial write queue); it reads without the write lock while
///   planning an insert (nobody else writes), and mutates only under the write lock, briefly.
///
/// ```swift
/// let graph = HNSWGraph(dimension: 384, metric: .cosine, parameters: .defaults, seed: 42)
/// let plan = graph.planInsert(vector, scratch: scratch)
/// graph.apply(plan)
/// let nearest = graph.search(query, k: 10, ef: 64, acceptor: graph.liveNodes, scratch: scratch)
/// ```
package final class HNSWGraph: @unchecked Sendable {
    // @unchecked: the raw storage is guarded by the owner's read-write lock as described above; this class never
    // mutates outside `apply`, `markDeleted` and `reserveCapacity` (and restoring or compacting a graph nobody else
    // sees yet), which the owner calls only under its write lock. For the same reason the stored properties opt out
    // of dynamic exclusivity checks (`@exclusivity(unchecked)`): the lock, not the runtime, orders their accesses,
    // and a check on every property read in the search loops costs a few percent of query time.

    /// The vector length.
    package let dimension: Int
    /// The stored (padded) vector length.
    package let stride: Int
    /// The metric.
    package let metric: VectorMetric
    /// The construction parameters.
    package let parameters: HNSWParameters
    /// Maximum links per node on layer 0.
    package let maxLinks0: Int
    /// Maximum links per node on the upper layers.
    package let maxLinks: Int
    /// Bytes per node record: vector, then layer-0 links, rounded up to 64.
    package let nodeBytes: Int
    /// Offset of the layer-0 link list in a node record.
    let linksOffset: Int
    let levelMultiplier: Double

    /// Node slots in use, tombstones included.
    @exclusivity(unchecked) package internal(set) var count = 0
    /// Node slots allocated.
    @exclusivity(unchecked) package internal(set) var capacity = 0
    /// Tombstones among the used slots.
    @exclusivity(unchecked) package internal(set) var deletedCount = 0
    /// The entry node, `nil` while the graph is empty.
    @exclusivity(unchecked) package internal(set) var entryPoint: UInt32?
    /// The highest layer of the graph.
    @exclusivity(unchecked) package internal(set) var maxLevel = 0

    @exclusivity(unchecked) var nodes: UnsafeMutableRawPointer
    @exclusivity(unchecked) var levels: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var deleted: UnsafeMutablePointer<Bool>
    @exclusivity(unchecked) var upper: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    @exclusivity(unchecked) var upperLinkWords = 0
    @exclusivity(unchecked) var random: SplitMix64

    /// Creates an empty graph.
    ///
    /// - Parameters:
    ///   - dimension: The vector length.
    ///   - metric: The metric.
    ///   - parameters: The construction parameters.
    ///   - seed: Seeds the level generator, so builds are reproducible.
    package init(dimension: Int, metric: VectorMetric, parameters: HNSWParameters, seed: UInt64 = 0x5EED) {
        self.dimension = dimension
        self.stride = VectorKernels.paddedLength(dimension)
        self.metric = metric
        self.parameters = parameters
        self.maxLinks = parameters.m
        self.maxLinks0 = parameters.m * 2
        self.levelMultiplier = 1 / Foundation.log(Double(max(parameters.m, 2)))
        self.random = SplitMix64(seed: seed)
        self.linksOffset = stride * 4
        self.nodeBytes = (stride * 4 + (parameters.m * 2 + 1) * 4 + 63) / 64 * 64
        nodes = UnsafeMutableRawPointer(Self.allocate(UInt8.self, 0))
        levels = Self.allocate(UInt8.self, 0)
        deleted = Self.allocate(Bool.self, 0)
        upper = Self.allocate(UnsafeMutablePointer<UInt32>?.self, 0)
    }

    deinit { freeStorage() }

    // MARK: - Access

    /// The stored vector of a node (padded; normalized for cosine).
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: A pointer to `stride` floats.
    @inline(__always)
    package func vector(_ node: UInt32) -> UnsafeMutablePointer<Float> {
        (nodes + Int(node) &* nodeBytes).assumingMemoryBound(to: Float.self)
    }

    /// The link list of a node on a layer: element 0 is the count, then the neighbor slots.
    ///
    /// - Parameters:
    ///   - node: The node's slot.
    ///   - level: The layer; at most the node's level.
    /// - Returns: A pointer to the list.
    @inline(__always)
    package func links(_ node: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return (nodes + (Int(node) &* nodeBytes &+ linksOffset)).assumingMemoryBound(to: UInt32.self) }
        return upper[Int(node)]! + (level &- 1) &* (maxLinks &+ 1)
    }

    /// The level of a node.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: Its highest layer.
    @inline(__always)
    package func level(of node: UInt32) -> Int { Int(levels[Int(node)]) }

    /// Whether a node is a tombstone.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: `true` if it was deleted.
    @inline(__always)
    package func isDeleted(_ node: UInt32) -> Bool { deleted[Int(node)] }

    /// An acceptor for live nodes.
    package var liveNodes: LiveNodes { LiveNodes(deleted: UnsafePointer(deleted), hasDeletions: deletedCount > 0) }

    /// An acceptor for live nodes that also pass `predicate`.
    ///
    /// - Parameter predicate: Decides by slot.
    /// - Returns: The acceptor.
    package func matchingLiveNodes(_ predicate: @escaping (UInt32) -> Bool) -> MatchingLiveNodes {
        MatchingLiveNodes(deleted: UnsafePointer(deleted), predicate: predicate)
    }

    /// Bytes held by vectors, links and per-node bookkeeping.
    package var memoryBytes: Int {
        let perSlot = nodeBytes + 2 + MemoryLayout<UnsafeMutablePointer<UInt32>?>.size
        return capacity * perSlot + upperLinkWords * 4
    }

    // MARK: - Mutation (write lock held)

    /// Marks a node deleted; it stays in the graph as a tombstone until compaction.
    ///
    /// - Parameter node: The node's slot.
    package func markDeleted(_ node: UInt32) {
        guard !deleted[Int(node)] else { return }
        deleted[Int(node)] = true
        deletedCount += 1
    }

    /// Grows the storage to hold at least `minimum` nodes.
    ///
    /// - Parameter minimum: The number of node slots needed.
    package func reserveCapacity(_ minimum: Int) {
        guard minimum > capacity else { return }
        let newCapacity = max(minimum, capacity + capacity / 2, 64)
        nodes = UnsafeMutableRawPointer(
            Self.grow(nodes.assumingMemoryBound(to: UInt8.self), used: count * nodeBytes, to: newCapacity * nodeBytes)
        )
        levels = Self.grow(levels, used: count, to: newCapacity)
        deleted = Self.grow(deleted, used: count, to: newCapacity)
        upper = Self.grow(upper, used: count, to: newCapacity)
        capacity = newCapacity
    }

    /// Draws the level of a new node: ⌊-ln(U) · 1/ln(m)⌋.
    func randomLevel() -> Int {
        let uniform = Double(random.next() >> 11) * 0x1p-53
        let level = Int(-Foundation.log(max(uniform, .leastNonzeroMagnitude)) * levelMultiplier)
        return min(level, Int(UInt8.max) - 1)
    }

    // MARK: - Storage helpers

    static func allocate<T>(_: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<T>.stride,
            alignment: max(64, MemoryLayout<T>.alignment)
        )
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    static func grow<T>(_ old: UnsafeMutablePointer<T>, used: Int, to count: Int) -> UnsafeMutablePointer<T> {
        let new = allocate(T.self, count)
        new.moveInitialize(from: old, count: used)
        UnsafeMutableRawPointer(old).deallocate()
        return new
    }

    func freeStorage() {
        for node in 0..<count { upper[node]?.deallocate() }
        nodes.deallocate()
        UnsafeMutableRawPointer(levels).deallocate()
        UnsafeMutableRawPointer(deleted).deallocate()
        UnsafeMutableRawPointer(upper).deallocate()
    }
}

/// A small, fast, seedable generator (SplitMix64) for node levels.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator.
    ///
    /// - Parameter seed: The seed.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
