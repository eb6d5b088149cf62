package import Foundation
package import Logging

/// The vector service in process: validates requests against the limits of the contract, then runs them on the
/// ``VectorStore``.
package struct LocalVectorService: VectorService {
    /// The collections.
    package let store: VectorStore
    /// The limits.
    package let configuration: VectorConfiguration

    /// Creates the service over an opened store.
    ///
    /// - Parameter store: The store; its collections load with ``VectorStore/loadAll()``.
    package init(store: VectorStore) {
        self.store = store
        self.configuration = store.configuration
    }

    /// Opens the store under a data directory.
    ///
    /// - Parameters:
    ///   - dataDirectory: The data directory.
    ///   - configuration: Service settings.
    ///   - logger: The logger.
    ///   - files: How the collections' WALs write and sync their frames; tests pass a recording one.
    /// - Returns: The service; collections load with `store.loadAll()`.
    package static func open(
        dataDirectory: URL,
        configuration: VectorConfiguration = VectorConfiguration(),
        logger: Logger,
        files: any WALFileOperations = POSIXFileOperations()
    ) throws -> LocalVectorService {
        LocalVectorService(
            store: try VectorStore.open(
                dataDirectory: dataDirectory,
                configuration: configuration,
                logger: logger,
                files: files
            )
        )
    }

    // MARK: - Collections

    /// Creates a collection, or returns the existing one when `ifNotExists` and the settings agree.
    package func createCollection(
        _ request: CreateCollectionRequest
    ) async throws -> (info: CollectionInfo, created: Bool) {
        try validateName(request.name)
        guard (1...configuration.maxDimension).contains(request.dimension) else {
            throw VectorError.invalid(
                "dimension must be in 1...\(configuration.maxDimension), got \(request.dimension)"
            )
        }
        var hnsw = request.hnsw
        if hnsw.m == 0 { hnsw.m = HNSWParameters.defaults.m }
        if hnsw.efConstruction == 0 { hnsw.efConstruction = HNSWParameters.defaults.efConstruction }
        if hnsw.efSearch == 0 { hnsw.efSearch = HNSWParameters.defaults.efSearch }
        if let problem = hnsw.problems.first { throw VectorError.invalid(problem) }
        let descriptor = CollectionDescriptor(
            name: request.name,
            dimension: request.dimension,
            metric: request.metric,
            hnsw: hnsw,
            embeddingVersionTag: request.embeddingVersionTag
        )
        let (collection, created) = try store.create(descriptor, ifNotExists: request.ifNotExists)
        return (collection.info, created)
    }

    /// Deletes a collection.
    package func deleteCollection(name: String, ifExists: Bool) async throws -> Bool {
        try validateName(name)
        return try await store.delete(name, ifExists: ifExists)
    }

    /// Lists collections.
    package func listCollections(namePrefix: String) async throws -> [CollectionInfo] {
        store.list(prefix: namePrefix)
    }

    /// A collection's info.
    package func collectionInfo(name: String) async throws -> CollectionInfo {
        try validateName(name)
        return try store.info(name)
    }

    // MARK: - Points

    /// Inserts or replaces points, durably.
    package func upsert(
        collection name: String,
        points: [VectorPoint],
        embeddingVersionTag: String
    ) async throws
        -> WriteResult
    {
        let collection = try readyCollection(name, tag: embeddingVersionTag)
        try validateCount(points.count, "points")
        var seen = Set<String>(minimumCapacity: points.count)
        for (index, point) in points.enumerated() {
            try validateID(point.id, at: "points[\(index)].id")
            guard seen.insert(point.id).inserted else {
                throw VectorError.invalid("points[\(index)].id '\(point.id)' appears more than once in the batch")
            }
            try validateVector(point.vector, dimension: collection.descriptor.dimension, at: "points[\(index)].vector")
            try validatePayload(point.payload, at: "points[\(index)].payload")
        }
        if configuration.maxVectorBytes > 0 {
            let perPoint = collection.descriptor.dimension * 4 + collection.descriptor.hnsw.m * 8 + 64
            if store.memoryBytes + points.count * perPoint > configuration.maxVectorBytes {
                throw VectorError(
                    .resourceExhausted,
                    "this instance's vector memory limit (\(configuration.maxVectorBytes) bytes) would be exceeded"
                )
            }
        }
        return try await collection.upsert(points)
    }

    /// Finds the nearest points.
    package func query(_ query: VectorQuery) async throws -> QueryResult {
        let collection = try readyCollection(query.collection, tag: query.embeddingVersionTag)
        guard (1...configuration.maxTopK).contains(query.topK) else {
            throw VectorError.invalid("top_k must be in 1...\(configuration.maxTopK), got \(query.topK)")
        }
        if let ef = query.efSearch, !HNSWParameters.efRange.contains(ef) {
            throw VectorError.invalid("ef_search must be in \(HNSWParameters.efRange), got \(ef)")
        }
        try validateVector(query.vector, dimension: collection.descriptor.dimension, at: "vector")
        if let threshold = query.scoreThreshold, !threshold.isFinite {
            throw VectorError.invalid("score_threshold must be finite")
        }
        if let filter = query.filter { try FilterValidator.validate(filter) }
        return collection.query(query)
    }

    /// Fetches points by id.
    package func get(
        collection name: String,
        ids: [String],
        withPayload: Bool,
        withVectors: Bool
    ) async throws
        -> [VectorPoint]
    {
        let collection = try readyCollection(name, tag: "")
        try validateCount(ids.count, "ids")
        for (index, id) in ids.enumerated() { try validateID(id, at: "ids[\(index)]") }
        return collection.get(ids, withPayload: withPayload, withVectors: withVectors)
    }

    /// Deletes points, durably.
    package func delete(collection name: String, selector: DeleteSelector) async throws -> WriteResult {
        let collection = try readyCollection(name, tag: "")
        switch selector {
        case .ids(let ids):
            try validateCount(ids.count, "ids")
            for (index, id) in ids.enumerated() { try validateID(id, at: "ids[\(index)]") }
        case .filter(let filter):
            guard !filter.isEmpty else {
                throw VectorError.invalid(
                    "an empty filter would delete every point; use DeleteCollection, or name a condition"
                )
            }
            try FilterValidator.validate(filter)
        }
        return try await collection.delete(selector)
    }

    // MARK: - Validation

    private func readyCollection(_ name: String, tag: String) throws -> VectorCollection {
        try validateName(name)
        let collection = try store.collection(name)
        if !tag.isEmpty, tag != collection.descriptor.embeddingVersionTag {
            throw VectorError(
                .failedPrecondition,
                "embedding_version_tag '\(tag)' differs from collection '\(name)''s '\(collection.descriptor.embeddingVersionTag)'"
            )
        }
        return collection
    }

    private func validateName(_ name: String) throws {
        let scalars = name.unicodeScalars
        let allowed = { (scalar: Unicode.Scalar) -> Bool in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "_.-".unicodeScalars.contains(scalar))
        }
        guard (1...128).contains(scalars.count), let first = scalars.first,
            first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first),
            scalars.allSatisfy(allowed)
        else {
            throw VectorError.invalid(
                "collection name must be 1-128 characters of [A-Za-z0-9_.-] starting with a letter or digit"
            )
        }
    }

    private func validateCount(_ count: Int, _ what: String) throws {
        guard (1...configuration.maxPointsPerRequest).contains(count) else {
            throw VectorError.invalid(
                "\(what) must hold 1 to \(configuration.maxPointsPerRequest) entries, got \(count)"
            )
        }
    }

    private func validateID(_ id: String, at path: String) throws {
        guard (1...256).contains(id.utf8.count) else {
            throw VectorError.invalid("\(path) must be 1 to 256 bytes of UTF-8")
        }
    }

    private func validateVector(_ vector: [Float], dimension: Int, at path: String) throws {
        guard vector.count == dimension else {
            throw VectorError.invalid(
                "\(path) has \(vector.count) components; the collection's dimension is \(dimension)"
            )
        }
        if let index = vector.firstIndex(where: { !$0.isFinite }) {
            throw VectorError.invalid("\(path)[\(index)] is \(vector[index]); components must be finite")
        }
    }

    private func validatePayload(_ payload: Payload, at path: String) throws {
        guard payload.count <= 64 else {
            throw VectorError.invalid("\(path) has \(payload.count) keys; at most 64 are allowed")
        }
        for key in payload.keys where !(1...128).contains(key.count) {
            throw VectorError.invalid("\(path) key '\(key.prefix(40))' must be 1 to 128 characters")
        }
        for (key, value) in payload {
            if case .double(let number) = value, !number.isFinite {
                throw VectorError.invalid("\(path).\(key) is \(number); numbers must be finite")
            }
        }
        var writer = BinaryWriter()
        writer.write(payload)
        guard writer.bytes.count <= configuration.maxPayloadBytes else {
            throw VectorError.invalid(
                "\(path) encodes to \(writer.bytes.count) bytes; at most \(configuration.maxPayloadBytes) are allowed"
            )
        }
    }
}

/// Checks a filter against the contract's limits: 8 levels of nesting, 256 conditions, keys present, no string lists
/// as match values, 1–1024 any-of values, at least one finite range bound.
package enum FilterValidator {
    /// Validates a filter.
    ///
    /// - Parameter filter: The filter.
    /// - Throws: ``VectorError`` `.invalidArgument` naming the problem.
    package static func validate(_ filter: VectorFilter) throws {
        var conditions = 0
        try validate(filter, depth: 1, conditions: &conditions)
    }

    private static func validate(_ filter: VectorFilter, depth: Int, conditions: inout Int) throws {
        guard depth <= 8 else { throw VectorError.invalid("filter nests deeper than 8 levels") }
        for condition in filter.must + filter.should + filter.mustNot {
            conditions += 1
            guard conditions <= 256 else { throw VectorError.invalid("filter has more than 256 conditions") }
            switch condition {
            case .match(let key, let value):
                try validateKey(key)
                try validateProbe(value, key: key)
            case .anyOf(let key, let values):
                try validateKey(key)
                guard (1...1024).contains(values.count) else {
                    throw VectorError.invalid("any_of on '\(key)' must list 1 to 1024 values")
                }
                for value in values { try validateProbe(value, key: key) }
            case .range(let key, let range):
                try validateKey(key)
                guard !range.isUnbounded else {
                    throw VectorError.invalid("range on '\(key)' needs at least one bound")
                }
                let bounds = [range.greaterThan, range.greaterThanOrEqual, range.lessThan, range.lessThanOrEqual]
                guard bounds.allSatisfy({ $0?.isFinite ?? true }) else {
                    throw VectorError.invalid("range bounds on '\(key)' must be finite")
                }
            case .filter(let nested):
                try validate(nested, depth: depth + 1, conditions: &conditions)
            }
        }
    }

    private static func validateKey(_ key: String) throws {
        guard (1...128).contains(key.count) else {
            throw VectorError.invalid("filter keys must be 1 to 128 characters")
        }
    }

    private static func validateProbe(_ value: PayloadValue, key: String) throws {
        switch value {
        case .stringList: throw VectorError.invalid("filter value for '\(key)' cannot be a string list")
        case .double(let number) where !number.isFinite:
            throw VectorError.invalid("filter value for '\(key)' must be finite")
        default: return
        }
    }
}
