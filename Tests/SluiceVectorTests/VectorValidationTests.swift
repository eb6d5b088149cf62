import Testing

@testable import SluiceVector

@Suite("Vector request validation")
struct VectorValidationTests {
    private func expectError(
        _ code: VectorError.Code,
        _ body: () async throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await body()
            Issue.record("expected \(code)", sourceLocation: sourceLocation)
        } catch let error as VectorError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("rejects bad input with a clear code")
    func badInput() async throws {
        try await withTemporaryDirectory { directory in
            let service = try await openService(
                directory,
                configuration: {
                    var configuration = VectorConfiguration()
                    configuration.maxPointsPerRequest = 10
                    return configuration
                }()
            )
            _ = try await service.createCollection(
                .init(name: "v", dimension: 3, metric: .cosine, embeddingVersionTag: "e5")
            )
            let good = VectorPoint(id: "a", vector: [1, 0, 0])

            await expectError(.invalidArgument) {
                _ = try await service.createCollection(.init(name: "_bad", dimension: 3, metric: .l2))
            }
            await expectError(.invalidArgument) {
                _ = try await service.createCollection(.init(name: "x", dimension: 0, metric: .l2))
            }
            await expectError(.invalidArgument) {
                _ = try await service.createCollection(
                    .init(name: "x", dimension: 3, metric: .l2, hnsw: .init(m: 1, efConstruction: 0, efSearch: 0))
                )
            }
            await expectError(.alreadyExists) {
                _ = try await service.createCollection(.init(name: "v", dimension: 3, metric: .cosine))
            }
            await expectError(.alreadyExists) {
                _ = try await service.createCollection(
                    .init(name: "v", dimension: 4, metric: .cosine, ifNotExists: true)
                )
            }
            let existing = try await service.createCollection(
                .init(name: "v", dimension: 3, metric: .cosine, embeddingVersionTag: "e5", ifNotExists: true)
            )
            #expect(existing.created == false)

            await expectError(.notFound) {
                _ = try await service.upsert(collection: "nope", points: [good], embeddingVersionTag: "")
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(
                    collection: "v",
                    points: [VectorPoint(id: "a", vector: [1, 0])],
                    embeddingVersionTag: ""
                )
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(
                    collection: "v",
                    points: [VectorPoint(id: "a", vector: [1, .nan, 0])],
                    embeddingVersionTag: ""
                )
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(
                    collection: "v",
                    points: [VectorPoint(id: "a", vector: [1, .infinity, 0])],
                    embeddingVersionTag: ""
                )
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(collection: "v", points: [good, good], embeddingVersionTag: "")
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(
                    collection: "v",
                    points: Array(repeating: good, count: 11),
                    embeddingVersionTag: ""
                )
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(collection: "v", points: [], embeddingVersionTag: "")
            }
            await expectError(.invalidArgument) {
                _ = try await service.upsert(
                    collection: "v",
                    points: [VectorPoint(id: "", vector: [1, 0, 0])],
                    embeddingVersionTag: ""
                )
            }
            await expectError(.failedPrecondition) {
                _ = try await service.upsert(collection: "v", points: [good], embeddingVersionTag: "e6")
            }

            await expectError(.invalidArgument) {
                _ = try await service.query(.init(collection: "v", vector: [1, 0, 0], topK: 0))
            }
            await expectError(.invalidArgument) {
                _ = try await service.query(.init(collection: "v", vector: [1, 0], topK: 1))
            }
            await expectError(.invalidArgument) {
                _ = try await service.query(
                    .init(
                        collection: "v",
                        vector: [1, 0, 0],
                        topK: 1,
                        filter: .init(must: [.range(key: "x", .init())])
                    )
                )
            }
            await expectError(.invalidArgument) {
                _ = try await service.query(
                    .init(
                        collection: "v",
                        vector: [1, 0, 0],
                        topK: 1,
                        filter: .init(must: [.match(key: "x", value: .stringList(["a"]))])
                    )
                )
            }
            var deep = VectorFilter(must: [.match(key: "x", value: .bool(true))])
            for _ in 0..<8 { deep = VectorFilter(must: [.filter(deep)]) }
            await expectError(.invalidArgument) {
                _ = try await service.query(.init(collection: "v", vector: [1, 0, 0], topK: 1, filter: deep))
            }
            await expectError(.invalidArgument) {
                _ = try await service.delete(collection: "v", selector: .filter(VectorFilter()))
            }

            // Nothing bad was written.
            let info = try await service.collectionInfo(name: "v")
            #expect(info.count == 0)
            #expect(info.persistence.durableSequence == 0)
        }
    }
}
