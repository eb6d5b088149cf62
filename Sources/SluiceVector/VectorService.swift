package import Foundation

/// The vector service: named collections of points searched by an in-memory HNSW index, made durable by a
/// write-ahead log and snapshots.
///
/// ``LocalVectorService`` implements it in process; the gRPC adapter serves it and implements it as a client, so
/// callers (RAG) do not care where the index lives.
///
/// ```swift
/// let vectors: any VectorService = try LocalVectorService.open(dataDirectory: url, logger: logger)
/// _ = try await vectors.createCollection(.init(name: "docs", dimension: 384, metric: .cosine))
/// let write = try await vectors.upsert(collection: "docs", points: points, embeddingVersionTag: "")
/// let hits = try await vectors.query(VectorQuery(collection: "docs", vector: query, topK: 10))
/// ```
package protocol VectorService: Sendable {
    /// Creates a collection, or returns the existing one when `ifNotExists` and the settings agree.
    ///
    /// - Parameter request: What to create.
    /// - Returns: The collection's info and whether it was created.
    func createCollection(_ request: CreateCollectionRequest) async throws -> (info: CollectionInfo, created: Bool)

    /// Deletes a collection with its points, snapshot and WAL.
    ///
    /// - Parameters:
    ///   - name: The collection.
    ///   - ifExists: Succeed (returning `false`) when it does not exist.
    /// - Returns: Whether a collection was deleted.
    func deleteCollection(name: String, ifExists: Bool) async throws -> Bool

    /// Lists collections, sorted by name.
    ///
    /// - Parameter namePrefix: Only names with this prefix; empty for all.
    /// - Returns: Their info.
    func listCollections(namePrefix: String) async throws -> [CollectionInfo]

    /// A collection's settings and statistics.
    ///
    /// - Parameter name: The collection.
    /// - Returns: Its info.
    func collectionInfo(name: String) async throws -> CollectionInfo

    /// Inserts points or replaces points with the same id; returns once the write is durable.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - points: 1…`max_points_per_request` points with distinct ids.
    ///   - embeddingVersionTag: When non-empty, must equal the collection's tag.
    /// - Returns: The points written and the write's WAL sequence number.
    func upsert(collection: String, points: [VectorPoint], embeddingVersionTag: String) async throws -> WriteResult

    /// Finds the nearest points to a vector.
    ///
    /// - Parameter query: The query.
    /// - Returns: Results, best first, and the search time.
    func query(_ query: VectorQuery) async throws -> QueryResult

    /// Fetches points by id, in the order asked; missing ids are left out.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - ids: 1…`max_points_per_request` ids.
    ///   - withPayload: Return payloads.
    ///   - withVectors: Return vectors.
    /// - Returns: The points found.
    func get(collection: String, ids: [String], withPayload: Bool, withVectors: Bool) async throws -> [VectorPoint]

    /// Deletes points by id or by filter; returns once the write is durable.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - selector: Which points.
    /// - Returns: The points deleted and the write's WAL sequence number.
    func delete(collection: String, selector: DeleteSelector) async throws -> WriteResult
}

/// What to create.
package struct CreateCollectionRequest: Sendable, Hashable {
    /// The name: 1–128 of `[A-Za-z0-9_.-]`, starting with a letter or digit.
    package var name: String
    /// The vector length.
    package var dimension: Int
    /// The metric.
    package var metric: VectorMetric
    /// Index parameters; zeros mean defaults.
    package var hnsw: HNSWParameters
    /// The embedding version tag, or empty.
    package var embeddingVersionTag: String
    /// Return an existing collection with the same settings instead of failing.
    package var ifNotExists: Bool

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - name: The name.
    ///   - dimension: The vector length.
    ///   - metric: The metric.
    ///   - hnsw: Index parameters; zeros mean defaults.
    ///   - embeddingVersionTag: The embedding version tag, or empty.
    ///   - ifNotExists: Return an existing, compatible collection instead of failing.
    package init(
        name: String,
        dimension: Int,
        metric: VectorMetric,
        hnsw: HNSWParameters = .defaults,
        embeddingVersionTag: String = "",
        ifNotExists: Bool = false
    ) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.hnsw = hnsw
        self.embeddingVersionTag = embeddingVersionTag
        self.ifNotExists = ifNotExists
    }
}

/// A collection's settings and live statistics.
package struct CollectionInfo: Sendable, Hashable {
    /// The fixed settings.
    package var descriptor: CollectionDescriptor
    /// Whether it serves requests yet.
    package var isReady: Bool
    /// Whether it failed to load: it will not serve until its files are repaired or it is deleted.
    package var hasFailed = false
    /// Live points.
    package var count: Int
    /// Tombstones still in the graph.
    package var deletedCount: Int
    /// Approximate bytes held by vectors, graph, ids and payloads.
    package var memoryBytes: Int
    /// Snapshot and WAL state.
    package var persistence: PersistenceInfo
    /// Queries served since the instance started.
    package var queries: Int
    /// Median query latency, in milliseconds, over the last 1,024 queries.
    package var latencyP50Milliseconds: Double
    /// 99th percentile query latency, in milliseconds, over the last 1,024 queries.
    package var latencyP99Milliseconds: Double

    /// Creates an info (the gRPC client rebuilds one from the wire).
    ///
    /// - Parameters:
    ///   - descriptor: The fixed settings.
    ///   - isReady: Whether it serves requests yet.
    ///   - count: Live points.
    ///   - deletedCount: Tombstones still in the graph.
    ///   - memoryBytes: Approximate bytes held.
    ///   - persistence: Snapshot and WAL state.
    ///   - queries: Queries served since the instance started.
    ///   - latencyP50Milliseconds: Median query latency.
    ///   - latencyP99Milliseconds: 99th percentile query latency.
    package init(
        descriptor: CollectionDescriptor,
        isReady: Bool,
        count: Int,
        deletedCount: Int,
        memoryBytes: Int,
        persistence: PersistenceInfo,
        queries: Int,
        latencyP50Milliseconds: Double,
        latencyP99Milliseconds: Double
    ) {
        self.descriptor = descriptor
        self.isReady = isReady
        self.count = count
        self.deletedCount = deletedCount
        self.memoryBytes = memoryBytes
        self.persistence = persistence
        self.queries = queries
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP99Milliseconds = latencyP99Milliseconds
    }

    /// deleted / (live + deleted).
    package var deletedRatio: Double {
        count + deletedCount == 0 ? 0 : Double(deletedCount) / Double(count + deletedCount)
    }
}

/// Snapshot and WAL state of a collection.
package struct PersistenceInfo: Sendable, Hashable {
    /// Sequence number of the last durable write.
    package var durableSequence: UInt64 = 0
    /// Sequence number included in the latest snapshot.
    package var snapshotSequence: UInt64 = 0
    /// When the latest snapshot was written.
    package var snapshotTime: Date?
    /// The latest snapshot's size.
    package var snapshotBytes = 0
    /// WAL records after the snapshot.
    package var walEntries = 0
    /// The WAL's size.
    package var walBytes = 0

    /// Creates a persistence state; everything defaults to zero and no snapshot.
    ///
    /// - Parameters:
    ///   - durableSequence: Sequence number of the last durable write.
    ///   - snapshotSequence: Sequence number included in the latest snapshot.
    ///   - snapshotTime: When the latest snapshot was written.
    ///   - snapshotBytes: The latest snapshot's size.
    ///   - walEntries: WAL records after the snapshot.
    ///   - walBytes: The WAL's size.
    package init(
        durableSequence: UInt64 = 0,
        snapshotSequence: UInt64 = 0,
        snapshotTime: Date? = nil,
        snapshotBytes: Int = 0,
        walEntries: Int = 0,
        walBytes: Int = 0
    ) {
        self.durableSequence = durableSequence
        self.snapshotSequence = snapshotSequence
        self.snapshotTime = snapshotTime
        self.snapshotBytes = snapshotBytes
        self.walEntries = walEntries
        self.walBytes = walBytes
    }
}

/// The outcome of a durable write.
package struct WriteResult: Sendable, Hashable {
    /// Points written or deleted.
    package var count: Int
    /// The write's WAL sequence number (the current one when nothing was written).
    package var sequence: UInt64

    /// Creates a write result.
    ///
    /// - Parameters:
    ///   - count: Points written or deleted.
    ///   - sequence: The write's WAL sequence number.
    package init(count: Int, sequence: UInt64) {
        self.count = count
        self.sequence = sequence
    }
}

/// A nearest-neighbor query.
package struct VectorQuery: Sendable {
    /// The collection.
    package var collection: String
    /// The query vector.
    package var vector: [Float]
    /// How many results.
    package var topK: Int
    /// Candidate list size; `nil` for the collection's default.
    package var efSearch: Int?
    /// Only points whose payload matches.
    package var filter: VectorFilter?
    /// Return payloads.
    package var withPayload: Bool
    /// Return vectors.
    package var withVectors: Bool
    /// Drop results worse than this score.
    package var scoreThreshold: Float?
    /// When non-empty, must equal the collection's tag.
    package var embeddingVersionTag: String

    /// Creates a query.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - vector: The query vector.
    ///   - topK: How many results.
    ///   - efSearch: Candidate list size, or `nil` for the default.
    ///   - filter: A payload filter.
    ///   - withPayload: Return payloads.
    ///   - withVectors: Return vectors.
    ///   - scoreThreshold: Drop results worse than this score.
    ///   - embeddingVersionTag: Expected tag, or empty.
    package init(
        collection: String,
        vector: [Float],
        topK: Int,
        efSearch: Int? = nil,
        filter: VectorFilter? = nil,
        withPayload: Bool = false,
        withVectors: Bool = false,
        scoreThreshold: Float? = nil,
        embeddingVersionTag: String = ""
    ) {
        self.collection = collection
        self.vector = vector
        self.topK = topK
        self.efSearch = efSearch
        self.filter = filter
        self.withPayload = withPayload
        self.withVectors = withVectors
        self.scoreThreshold = scoreThreshold
        self.embeddingVersionTag = embeddingVersionTag
    }
}

/// Query results.
package struct QueryResult: Sendable {
    /// Results, best first.
    package var points: [ScoredPoint]
    /// Search time inside the service, in microseconds.
    package var tookMicroseconds: Int

    /// Creates query results.
    ///
    /// - Parameters:
    ///   - points: Results, best first.
    ///   - tookMicroseconds: Search time inside the service.
    package init(points: [ScoredPoint], tookMicroseconds: Int) {
        self.points = points
        self.tookMicroseconds = tookMicroseconds
    }
}

/// One query result.
package struct ScoredPoint: Sendable, Hashable {
    /// The point's id.
    package var id: String
    /// The score under the collection's metric.
    package var score: Float
    /// The payload, when asked for.
    package var payload: Payload
    /// The stored vector, when asked for (normalized for cosine collections).
    package var vector: [Float]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - id: The point's id.
    ///   - score: The score under the collection's metric.
    ///   - payload: The payload, or empty.
    ///   - vector: The stored vector, or empty.
    package init(id: String, score: Float, payload: Payload = [:], vector: [Float] = []) {
        self.id = id
        self.score = score
        self.payload = payload
        self.vector = vector
    }
}

/// Which points a delete removes.
package enum DeleteSelector: Sendable {
    /// These ids; unknown ids are ignored.
    case ids([String])
    /// Every point whose payload matches.
    case filter(VectorFilter)
}
