/// How a collection measures closeness between vectors.
///
/// Internally every metric is turned into a *distance* where smaller is closer: cosine and dot product use the
/// negated inner product (cosine vectors are normalized on insert, so it orders exactly like cosine similarity), L2
/// uses the squared Euclidean distance. ``score(fromDistance:)`` turns a distance back into the score callers see.
package enum VectorMetric: String, Sendable, Hashable, CaseIterable, Codable {
    /// Cosine similarity; vectors are normalized on insert. Score: similarity in [-1, 1], higher is closer.
    case cosine
    /// Inner product. Score: the product, higher is closer.
    case dot
    /// Euclidean distance. Score: the distance (not squared), lower is closer.
    case l2

    /// Whether a higher score is closer (cosine, dot) or a lower one is (L2).
    package var higherIsCloser: Bool { self != .l2 }

    /// The caller-facing score of an internal distance.
    ///
    /// - Parameter distance: The internal distance (negated inner product, or squared L2).
    /// - Returns: The score under this metric.
    @inlinable
    package func score(fromDistance distance: Float) -> Float {
        switch self {
        case .cosine, .dot: -distance
        case .l2: distance.squareRoot()
        }
    }
}
