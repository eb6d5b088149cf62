/// Settings of the vector service.
///
/// Configuration keys (under `vector` in the configuration file, snake_case):
/// - `max_points_per_request` (1000): points per Upsert, ids per Get or Delete.
/// - `max_dimension` (4096), `max_top_k` (1000).
/// - `max_payload_bytes` (65536): encoded payload per point.
/// - `snapshot_wal_bytes` (67108864): take a snapshot, and empty the WAL, once the WAL is this large.
/// - `snapshot_interval_seconds` (300): also snapshot a collection whose WAL holds records once its last snapshot
///   (or its creation) is this old; checked by the serving process every few seconds.
/// - `compaction_deleted_ratio` (0.2): repair and compact a collection once this share of its nodes are tombstones.
/// - `exact_search_max_matches` (4096): a filtered query whose filter is estimated to match at most this many points
///   scores those points exactly instead of walking the graph.
/// - `max_vector_bytes` (0 = unlimited): the instance's memory limit for vectors, links and payloads.
package struct VectorConfiguration: Sendable, Hashable, Codable {
    /// Points per Upsert, ids per Get or Delete.
    package var maxPointsPerRequest = 1000
    /// Largest dimension.
    package var maxDimension = 4096
    /// Largest top_k.
    package var maxTopK = 1000
    /// Largest encoded payload per point, in bytes.
    package var maxPayloadBytes = 65_536
    /// WAL size that triggers a snapshot.
    package var snapshotWALBytes = 64 << 20
    /// Age of the last snapshot after which a non-empty WAL is snapshotted, in seconds.
    package var snapshotIntervalSeconds = 300
    /// Share of tombstones that triggers repair and compaction.
    package var compactionDeletedRatio = 0.2
    /// Estimated matches under which a filtered query scans exactly.
    package var exactSearchMaxMatches = 4096
    /// Memory limit for vectors, links and payloads; 0 means none.
    package var maxVectorBytes = 0

    /// Creates the defaults.
    package init() {}

    enum CodingKeys: String, CodingKey {
        case maxPointsPerRequest = "max_points_per_request"
        case maxDimension = "max_dimension"
        case maxTopK = "max_top_k"
        case maxPayloadBytes = "max_payload_bytes"
        case snapshotWALBytes = "snapshot_wal_bytes"
        case snapshotIntervalSeconds = "snapshot_interval_seconds"
        case compactionDeletedRatio = "compaction_deleted_ratio"
        case exactSearchMaxMatches = "exact_search_max_matches"
        case maxVectorBytes = "max_vector_bytes"
    }

    /// Decodes from the configuration file; absent keys keep their defaults.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        maxPointsPerRequest = try value(.maxPointsPerRequest, maxPointsPerRequest)
        maxDimension = try value(.maxDimension, maxDimension)
        maxTopK = try value(.maxTopK, maxTopK)
        maxPayloadBytes = try value(.maxPayloadBytes, maxPayloadBytes)
        snapshotWALBytes = try value(.snapshotWALBytes, snapshotWALBytes)
        snapshotIntervalSeconds = try value(.snapshotIntervalSeconds, snapshotIntervalSeconds)
        compactionDeletedRatio = try value(.compactionDeletedRatio, compactionDeletedRatio)
        exactSearchMaxMatches = try value(.exactSearchMaxMatches, exactSearchMaxMatches)
        maxVectorBytes = try value(.maxVectorBytes, maxVectorBytes)
    }

    /// The problems with these settings, empty when they are valid.
    package var problems: [String] {
        var problems: [String] = []
        if maxPointsPerRequest < 1 { problems.append("vector.max_points_per_request must be at least 1") }
        if !(1...65_536).contains(maxDimension) { problems.append("vector.max_dimension must be in 1...65536") }
        if maxTopK < 1 { problems.append("vector.max_top_k must be at least 1") }
        if maxPayloadBytes < 64 { problems.append("vector.max_payload_bytes must be at least 64") }
        if snapshotWALBytes < 4096 { problems.append("vector.snapshot_wal_bytes must be at least 4096") }
        if snapshotIntervalSeconds < 1 { problems.append("vector.snapshot_interval_seconds must be at least 1") }
        if !(compactionDeletedRatio > 0 && compactionDeletedRatio <= 1) {
            problems.append("vector.compaction_deleted_ratio must be in (0, 1]")
        }
        if exactSearchMaxMatches < 0 { problems.append("vector.exact_search_max_matches must not be negative") }
        if maxVectorBytes < 0 { problems.append("vector.max_vector_bytes must not be negative") }
        return problems
    }
}
