package import Foundation

/// The fixed settings of a collection, stored as `collection.json` in its directory.
package struct CollectionDescriptor: Sendable, Hashable, Codable {
    /// The name.
    package var name: String
    /// The vector length.
    package var dimension: Int
    /// The metric.
    package var metric: VectorMetric
    /// The index parameters (defaults filled in).
    package var hnsw: HNSWParameters
    /// The embedding version tag; empty when unchecked.
    package var embeddingVersionTag: String
    /// When the collection was created.
    package var createdAt: Date

    /// Creates a descriptor.
    ///
    /// - Parameters:
    ///   - name: The name.
    ///   - dimension: The vector length.
    ///   - metric: The metric.
    ///   - hnsw: The index parameters.
    ///   - embeddingVersionTag: The embedding version tag, or empty.
    ///   - createdAt: The creation time.
    package init(
        name: String,
        dimension: Int,
        metric: VectorMetric,
        hnsw: HNSWParameters = .defaults,
        embeddingVersionTag: String = "",
        createdAt: Date = Date()
    ) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.hnsw = hnsw
        self.embeddingVersionTag = embeddingVersionTag
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, dimension, metric, hnsw
        case embeddingVersionTag = "embedding_version_tag"
        case createdAt = "created_at"
    }

    /// Whether two descriptors describe the same collection (creation time aside).
    ///
    /// - Parameter other: The other descriptor.
    /// - Returns: `true` when name, dimension, metric and tag agree.
    package func isCompatible(with other: CollectionDescriptor) -> Bool {
        name == other.name && dimension == other.dimension && metric == other.metric
            && embeddingVersionTag == other.embeddingVersionTag
    }
}
