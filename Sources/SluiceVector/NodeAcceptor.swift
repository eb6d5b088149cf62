/// Decides which graph nodes may appear in search results.
///
/// Searches are specialized over the acceptor, so the unfiltered case pays nothing for filtering. Rejected nodes are
/// still traversed: a tombstone or a filtered-out node keeps the graph connected.
package protocol NodeAcceptor {
    /// Whether the node may be returned.
    ///
    /// - Parameter node: The node's slot.
    /// - Returns: `true` to accept it.
    func accepts(_ node: UInt32) -> Bool

    /// Whether the acceptor may reject nodes (so a search must keep going until its result set is full).
    var isSelective: Bool { get }
}

/// Accepts every node that is not a tombstone.
package struct LiveNodes: NodeAcceptor {
    let deleted: UnsafePointer<Bool>
    let hasDeletions: Bool

    /// Whether the node may be returned.
    @inline(__always)
    package func accepts(_ node: UInt32) -> Bool { !hasDeletions || !deleted[Int(node)] }

    /// Whether some nodes are tombstones.
    package var isSelective: Bool { hasDeletions }
}

/// Accepts live nodes that also pass a predicate (a payload filter).
package struct MatchingLiveNodes: NodeAcceptor {
    let deleted: UnsafePointer<Bool>
    let predicate: (UInt32) -> Bool

    /// Whether the node is live and matches.
    @inline(__always)
    package func accepts(_ node: UInt32) -> Bool { !deleted[Int(node)] && predicate(node) }

    /// Always selective.
    package var isSelective: Bool { true }
}
