/// A node of the graph with its distance to a query.
package struct Neighbor: Sendable, Hashable {
    /// The internal distance; smaller is closer.
    package var distance: Float
    /// The node's slot in the graph.
    package var node: UInt32

    /// Creates a neighbor.
    ///
    /// - Parameters:
    ///   - distance: The distance to the query.
    ///   - node: The node's slot.
    @inlinable
    package init(distance: Float, node: UInt32) {
        self.distance = distance
        self.node = node
    }
}

/// A binary heap of neighbors over manually managed storage, ordered closest-first or farthest-first.
///
/// Owned by one ``SearchScratch`` and reused across searches: `removeAll()` keeps the storage.
package struct NeighborHeap {
    /// Whether the top is the farthest (a bounded result set) or the closest (a candidate queue).
    package let farthestOnTop: Bool
    private let sign: Float
    private var storage: UnsafeMutablePointer<Neighbor>
    private var capacity: Int
    /// The number of neighbors held.
    package private(set) var count = 0

    /// Creates an empty heap.
    ///
    /// - Parameters:
    ///   - farthestOnTop: `true` for a max-heap on distance, `false` for a min-heap.
    ///   - capacity: The initial storage, grown as needed.
    package init(farthestOnTop: Bool, capacity: Int = 256) {
        self.farthestOnTop = farthestOnTop
        self.sign = farthestOnTop ? -1 : 1
        self.capacity = max(capacity, 16)
        self.storage = .allocate(capacity: self.capacity)
    }

    /// Frees the storage; the heap must not be used afterwards.
    package func deallocate() { storage.deallocate() }

    /// Whether the heap is empty.
    @inlinable package var isEmpty: Bool { count == 0 }

    /// The top neighbor (closest or farthest); the heap must not be empty.
    @inline(__always) package var top: Neighbor { storage[0] }

    /// The neighbors in heap order.
    package var unordered: UnsafeBufferPointer<Neighbor> { UnsafeBufferPointer(start: storage, count: count) }

    /// Removes every neighbor, keeping the storage.
    @inline(__always) package mutating func removeAll() { count = 0 }

    /// Whether `a` belongs above `b`: comparing signed distances (negated for a max-heap) keeps the comparison
    /// branch-free.
    @inline(__always)
    private func above(_ a: Neighbor, _ b: Neighbor) -> Bool {
        a.distance * sign < b.distance * sign
    }

    /// Adds a neighbor.
    ///
    /// - Parameter neighbor: The neighbor.
    @inline(__always)
    package mutating func push(_ neighbor: Neighbor) {
        if count == capacity { grow() }
        var index = count
        count &+= 1
        while index > 0 {
            let parent = (index &- 1) >> 1
            guard above(neighbor, storage[parent]) else { break }
            storage[index] = storage[parent]
            index = parent
        }
        storage[index] = neighbor
    }

    /// Removes and returns the top neighbor; the heap must not be empty.
    @inline(__always) @discardableResult
    package mutating func pop() -> Neighbor {
        let result = storage[0]
        count &-= 1
        guard count > 0 else { return result }
        let last = storage[count]
        var index = 0
        while true {
            let left = 2 &* index &+ 1
            guard left < count else { break }
            let right = left &+ 1
            let child = right < count && above(storage[right], storage[left]) ? right : left
            guard above(storage[child], last) else { break }
            storage[index] = storage[child]
            index = child
        }
        storage[index] = last
        return result
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Neighbor>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }
}
