import Testing

@testable import SluiceVector

@Suite("Filtered search")
struct VectorFilterTests {
    @Test("matches must, should and must_not over equals, any-of and range")
    func semantics() {
        let payload: Payload = [
            "lang": .string("en"), "year": .int(2021), "score": .double(0.5), "tags": .stringList(["a", "b"]),
            "ok": .bool(true),
        ]
        #expect(VectorFilter().matches(payload))
        #expect(VectorFilter(must: [.match(key: "lang", value: .string("en"))]).matches(payload))
        #expect(!VectorFilter(must: [.match(key: "lang", value: .string("fr"))]).matches(payload))
        #expect(VectorFilter(must: [.match(key: "tags", value: .string("b"))]).matches(payload))
        #expect(VectorFilter(must: [.match(key: "year", value: .double(2021))]).matches(payload))
        #expect(!VectorFilter(must: [.match(key: "missing", value: .bool(true))]).matches(payload))
        #expect(VectorFilter(must: [.anyOf(key: "lang", values: [.string("de"), .string("en")])]).matches(payload))
        #expect(
            VectorFilter(must: [.range(key: "year", .init(greaterThanOrEqual: 2021, lessThan: 2022))]).matches(payload)
        )
        #expect(!VectorFilter(must: [.range(key: "score", .init(greaterThan: 0.5))]).matches(payload))
        #expect(!VectorFilter(must: [.range(key: "lang", .init(greaterThan: 0))]).matches(payload))
        #expect(!VectorFilter(mustNot: [.match(key: "ok", value: .bool(true))]).matches(payload))
        #expect(
            VectorFilter(should: [.match(key: "lang", value: .string("x")), .match(key: "ok", value: .bool(true))])
                .matches(payload)
        )
        #expect(!VectorFilter(should: [.match(key: "lang", value: .string("x"))]).matches(payload))
        let nested = VectorFilter(must: [.filter(.init(mustNot: [.match(key: "lang", value: .string("en"))]))])
        #expect(!nested.matches(payload))
    }

    @Test("keeps recall@10 at or above 0.9 from 50% down to 1% selectivity", arguments: [50, 20, 5, 1])
    func recall(percent: Int) async throws {
        try await withTemporaryDirectory { directory in
            // Given 5,000 clustered points in a cosine collection, with the default choice of exact or graph search
            let service = try await openService(directory)

            // When / Then
            let recall = try await Self.filteredRecall(service, metric: .cosine, percent: percent)
            #expect(recall >= 0.9)
        }
    }

    @Test(
        "the filtered graph walk alone keeps recall@10 at or above 0.9 from 50% down to 10%",
        arguments: [50, 20, 10]
    )
    func graphWalkRecall(percent: Int) async throws {
        try await withTemporaryDirectory { directory in
            // Given a service that never answers a filter by exact search, so every query walks the graph
            var configuration = VectorConfiguration()
            configuration.exactSearchMaxMatches = 0
            let service = try await openService(directory, configuration: configuration)

            // When / Then
            let recall = try await Self.filteredRecall(service, metric: .l2, percent: percent)
            #expect(recall >= 0.9)
        }
    }

    /// Fills a collection with 5,000 clustered points (`bucket` is index % 100, so `bucket < percent` selects
    /// `percent` % of them), runs 50 filtered queries, checks every result matches, and returns recall@10 against an
    /// exact filtered search.
    private static func filteredRecall(
        _ service: LocalVectorService,
        metric: VectorMetric,
        percent: Int
    ) async throws
        -> Double
    {
        _ = try await service.createCollection(.init(name: "f", dimension: 32, metric: metric))
        let points = makePoints(5000, dimension: 32)
        for batch in stride(from: 0, to: points.count, by: 1000) {
            _ = try await service.upsert(
                collection: "f",
                points: Array(points[batch..<batch + 1000]),
                embeddingVersionTag: ""
            )
        }
        let filter = VectorFilter(must: [.range(key: "bucket", .init(lessThan: Double(percent)))])
        let matches = { (payload: Payload) in (payload["bucket"]?.number ?? 100) < Double(percent) }
        var hits = 0
        let queries = makePoints(50, dimension: 32, seed: 11, prefix: "q").map(\.vector)
        for query in queries {
            let found = try await service.query(
                .init(collection: "f", vector: query, topK: 10, filter: filter, withPayload: true)
            )
            #expect(found.points.count == 10)
            #expect(found.points.allSatisfy { matches($0.payload) })
            let exact = exactNeighbors(of: query, in: points, metric: metric, k: 10) { matches($0.payload) }
            hits += Set(found.points.map(\.id)).intersection(exact).count
        }
        return Double(hits) / Double(queries.count * 10)
    }

    @Test("deletes by filter")
    func deleteByFilter() async throws {
        try await withTemporaryDirectory { directory in
            let service = try await openService(directory)
            _ = try await service.createCollection(.init(name: "f", dimension: 4, metric: .l2))
            _ = try await service.upsert(collection: "f", points: makePoints(90, dimension: 4), embeddingVersionTag: "")
            let result = try await service.delete(
                collection: "f",
                selector: .filter(.init(must: [.match(key: "tag", value: .string("fizz"))]))
            )
            #expect(result.count == 30)
            let remaining = try await service.collectionInfo(name: "f")
            #expect(remaining.count == 60)
        }
    }
}
