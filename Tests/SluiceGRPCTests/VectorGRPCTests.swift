import Foundation
import Logging
import SluiceProtos
import SluiceVector
import SluiceVectorGRPC
import Testing

@Suite("Vector over gRPC: round trips", .timeLimit(.minutes(1)))
struct VectorGRPCTests {
    /// Points with every kind of payload value, in an L2 collection so vectors come back exactly as sent.
    static let points: [VectorPoint] = [
        VectorPoint(
            id: "p0",
            vector: [1, 0, 0, 0],
            payload: [
                "lang": .string("en"), "year": .int(2021), "score": .double(0.5), "draft": .bool(false),
                "tags": .stringList(["a", "b"]),
            ]
        ),
        VectorPoint(
            id: "p1",
            vector: [0.9, 0.1, 0, 0],
            payload: ["lang": .string("de"), "year": .int(1999), "tags": .stringList(["b"])]
        ),
        VectorPoint(
            id: "p2",
            vector: [0, 1, 0, 0],
            payload: ["lang": .string("en"), "year": .int(2005), "draft": .bool(true)]
        ),
        VectorPoint(id: "p3", vector: [0, 0, 1, 0.25], payload: [:]),
        VectorPoint(id: "Ünïcode id ✓", vector: [0.5, 0.5, 0.5, 0.5], payload: ["lang": .string("fr")]),
    ]

    static let request = CreateCollectionRequest(
        name: "docs",
        dimension: 4,
        metric: .l2,
        hnsw: HNSWParameters(m: 8, efConstruction: 100, efSearch: 32),
        embeddingVersionTag: "e5-v1"
    )

    static func infoRequest(_ name: String) -> Sluice_Vector_V1_GetCollectionInfoRequest {
        var request = Sluice_Vector_V1_GetCollectionInfoRequest()
        request.name = name
        return request
    }

    /// An info with the creation time rounded to milliseconds, which is all a comparison across the wire can hold.
    private static func comparable(_ info: CollectionInfo) -> CollectionInfo {
        var info = info
        info.descriptor.createdAt = Date(
            timeIntervalSince1970: (info.descriptor.createdAt.timeIntervalSince1970 * 1000).rounded() / 1000
        )
        info.persistence.snapshotTime = info.persistence.snapshotTime.map {
            Date(timeIntervalSince1970: ($0.timeIntervalSince1970 * 1000).rounded() / 1000)
        }
        return info
    }

    @Test("createCollection, info, list and deleteCollection round trip")
    func collectionLifecycle() async throws {
        try await VectorMesh.withLocalService { local, _ in
            try await VectorMesh.withVector(serving: local) { client, _ in
                // When a collection is created, then created again with if_not_exists
                let (info, created) = try await client.createCollection(Self.request)
                var again = Self.request
                again.ifNotExists = true
                let (existing, createdAgain) = try await client.createCollection(again)

                // Then the first call created it with the settings asked for, the second found it
                #expect(created && !createdAgain)
                #expect(info.descriptor.name == "docs" && info.descriptor.dimension == 4)
                #expect(info.descriptor.metric == .l2 && info.descriptor.hnsw == Self.request.hnsw)
                #expect(info.descriptor.embeddingVersionTag == "e5-v1")
                #expect(info.isReady && info.count == 0 && existing.descriptor.name == "docs")

                // And after a write, info and list over the wire equal the local answers
                _ = try await client.upsert(collection: "docs", points: Self.points, embeddingVersionTag: "")
                let remote = try await client.collectionInfo(name: "docs")
                let direct = try await local.collectionInfo(name: "docs")
                #expect(Self.comparable(remote) == Self.comparable(direct))
                #expect(remote.count == Self.points.count && remote.memoryBytes > 0)
                #expect(remote.persistence.durableSequence == 1 && remote.persistence.walEntries == 1)
                #expect(remote.persistence.snapshotTime == nil)
                _ = try await client.createCollection(
                    CreateCollectionRequest(name: "other", dimension: 2, metric: .dot)
                )
                #expect(try await client.listCollections(namePrefix: "").map(\.descriptor.name) == ["docs", "other"])
                #expect(try await client.listCollections(namePrefix: "do").map(\.descriptor.name) == ["docs"])
                #expect(try await client.listCollections(namePrefix: "zz").isEmpty)

                // And deleting works once, then reports nothing to delete with if_exists
                #expect(try await client.deleteCollection(name: "docs", ifExists: false))
                #expect(try await !client.deleteCollection(name: "docs", ifExists: true))
                #expect(try await client.listCollections(namePrefix: "").map(\.descriptor.name) == ["other"])
            }
        }
    }

    @Test("upsert, get, query and delete round trip with payloads, vectors and filters")
    func pointRoundTrip() async throws {
        try await VectorMesh.withLocalService { local, _ in
            try await VectorMesh.withVector(serving: local) { client, _ in
                // Given a collection with points carrying every kind of payload value
                _ = try await client.createCollection(Self.request)
                let written = try await client.upsert(
                    collection: "docs",
                    points: Self.points,
                    embeddingVersionTag: "e5-v1"
                )
                #expect(written == WriteResult(count: Self.points.count, sequence: 1))

                // When points are fetched with and without payloads and vectors
                let full = try await client.get(
                    collection: "docs",
                    ids: ["p2", "missing", "Ünïcode id ✓", "p0"],
                    withPayload: true,
                    withVectors: true
                )
                let bare = try await client.get(collection: "docs", ids: ["p0"], withPayload: false, withVectors: false)

                // Then they come back exactly, in the order asked, without the missing id
                #expect(full == [Self.points[2], Self.points[4], Self.points[0]])
                #expect(bare == [VectorPoint(id: "p0", vector: [], payload: [:])])

                // When a filtered query runs over the wire and in process
                let filter = VectorFilter(
                    must: [.range(key: "year", .init(greaterThanOrEqual: 2000))],
                    should: [.match(key: "lang", value: .string("en")), .anyOf(key: "tags", values: [.string("z")])],
                    mustNot: [.filter(VectorFilter(must: [.match(key: "draft", value: .bool(true))]))]
                )
                let query = VectorQuery(
                    collection: "docs",
                    vector: [1, 0, 0, 0],
                    topK: 3,
                    efSearch: 50,
                    filter: filter,
                    withPayload: true,
                    withVectors: true,
                    scoreThreshold: 10,
                    embeddingVersionTag: "e5-v1"
                )
                let remote = try await client.query(query)
                let direct = try await local.query(query)

                // Then both find the same point (p1 is too old, p2 a draft, p3 and the rest match no `should`)
                #expect(remote.points.map(\.id) == ["p0"])
                #expect(remote.points == direct.points)
                #expect(remote.points.first?.payload == Self.points[0].payload)
                #expect(remote.points.first?.vector == Self.points[0].vector)

                // When points are deleted by id and by filter
                let byID = try await client.delete(collection: "docs", selector: .ids(["p0", "nope"]))
                let byFilter = try await client.delete(
                    collection: "docs",
                    selector: .filter(VectorFilter(must: [.match(key: "tags", value: .string("b"))]))
                )
                let none = try await client.delete(collection: "docs", selector: .ids(["p0"]))

                // Then each reports what it deleted and its WAL sequence; a delete of nothing writes nothing
                #expect(byID == WriteResult(count: 1, sequence: 2))
                #expect(byFilter == WriteResult(count: 1, sequence: 3))
                #expect(none == WriteResult(count: 0, sequence: 3))
                let left = try await client.get(
                    collection: "docs",
                    ids: Self.points.map(\.id),
                    withPayload: false,
                    withVectors: false
                )
                #expect(left.map(\.id) == ["p2", "p3", "Ünïcode id ✓"])
                let info = try await client.collectionInfo(name: "docs")
                #expect(info.count == 3 && info.deletedCount == 2 && info.deletedRatio == 0.4)
                #expect(info.queries == 2)
            }
        }
    }

    @Test("a collection still loading reports LOADING in its info and UNAVAILABLE otherwise")
    func loading() async throws {
        try await VectorMesh.withLocalService { first, directory in
            _ = try await first.createCollection(Self.request)
            _ = try await first.upsert(collection: "docs", points: Self.points, embeddingVersionTag: "")
            await first.store.close()

            // Given the same data directory opened again, not loaded yet
            let reopened = try LocalVectorService.open(
                dataDirectory: directory,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
            try await VectorMesh.withVector(serving: reopened) { client, raw in
                // When its info and points are asked for
                let info = try await client.collectionInfo(name: "docs")
                let wire = try await raw.getCollectionInfo(Self.infoRequest("docs"))
                let error = await #expect(throws: VectorError.self) {
                    _ = try await client.get(collection: "docs", ids: ["p0"], withPayload: false, withVectors: false)
                }

                // Then it is described as loading, and refuses work as unavailable
                #expect(!info.isReady && info.descriptor.dimension == 4)
                #expect(wire.collection.state == .loading)
                #expect(error?.code == .unavailable)

                // And once loaded it serves the points
                await reopened.store.loadAll()
                #expect(try await client.collectionInfo(name: "docs").count == Self.points.count)
                #expect(try await raw.getCollectionInfo(Self.infoRequest("docs")).collection.state == .ready)
                await reopened.store.close()
            }
        }
    }
}
