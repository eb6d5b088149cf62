import Foundation
import GRPCCore
import SluiceProtos
import SluiceVector
import SluiceVectorGRPC
import Testing

@Suite("Vector over gRPC: errors", .timeLimit(.minutes(1)))
struct VectorGRPCErrorTests {
    @Test(
        "each domain error crosses the wire with its status, code and message",
        arguments: [
            (VectorError.Code.invalidArgument, RPCError.Code.invalidArgument),
            (.notFound, .notFound),
            (.alreadyExists, .alreadyExists),
            (.failedPrecondition, .failedPrecondition),
            (.resourceExhausted, .resourceExhausted),
            (.unavailable, .unavailable),
            (.internal, .internalError),
        ]
    )
    func statusPerCode(code: VectorError.Code, status: RPCError.Code) async throws {
        // Given a service that fails with this code
        let expected = VectorError(code, "it failed: \(code)")
        try await VectorMesh.withVector(serving: FailingVectorService(error: expected)) { client, raw in
            // When the domain client and a plain gRPC client call it
            let domain = await #expect(throws: VectorError.self) {
                _ = try await client.collectionInfo(name: "docs")
            }
            let wire = await #expect(throws: RPCError.self) {
                _ = try await raw.getCollectionInfo(VectorGRPCTests.infoRequest("docs"))
            }

            // Then the domain client rebuilds the same error, and the status is the one the contract lists
            #expect(domain == expected)
            #expect(wire?.code == status)
            #expect(wire?.message == expected.message)
            #expect(wire?.metadata[stringValues: "sluice-error-code"].map { $0 } == [code.rawValue])
        }
    }

    @Test("a failure that is not a VectorError is INTERNAL, without its details")
    func unexpectedFailure() async throws {
        let failing = FailingVectorService(error: CocoaError(.fileWriteOutOfSpace, userInfo: ["secret": "/var/lib"]))
        try await VectorMesh.withVector(serving: failing) { client, raw in
            let wire = await #expect(throws: RPCError.self) {
                _ = try await raw.getCollectionInfo(VectorGRPCTests.infoRequest("docs"))
            }
            let domain = await #expect(throws: VectorError.self) {
                _ = try await client.listCollections(namePrefix: "")
            }
            #expect(wire?.code == .internalError)
            #expect(wire?.message.contains("/var/lib") == false)
            #expect(domain?.code == .internal)
        }
    }

    @Test("the local service's refusals reach the client with their codes")
    func localRefusals() async throws {
        var configuration = VectorConfiguration()
        configuration.maxVectorBytes = 64 * 1024
        try await VectorMesh.withLocalService(configuration: configuration) { local, _ in
            try await VectorMesh.withVector(serving: local) { client, _ in
                // Given a collection of dimension 3
                _ = try await client.createCollection(
                    CreateCollectionRequest(name: "v", dimension: 3, metric: .dot, embeddingVersionTag: "e5")
                )
                func code(_ body: () async throws -> Void) async -> VectorError.Code? {
                    do {
                        try await body()
                        return nil
                    } catch let error as VectorError {
                        return error.code
                    } catch {
                        return VectorError.Code.internal
                    }
                }
                func upsert(_ points: [VectorPoint], tag: String = "") async throws {
                    _ = try await client.upsert(collection: "v", points: points, embeddingVersionTag: tag)
                }

                // Then each bad request is refused with the contract's code
                #expect(await code { try await upsert([VectorPoint(id: "a", vector: [1, 2])]) } == .invalidArgument)
                #expect(
                    await code { try await upsert([VectorPoint(id: "a", vector: [1, .nan, 0])]) } == .invalidArgument
                )
                #expect(
                    await code { try await upsert([VectorPoint(id: "a", vector: [1, .infinity, 0])]) }
                        == .invalidArgument
                )
                let point = VectorPoint(id: "a", vector: [1, 0, 0])
                #expect(await code { try await upsert([point, point]) } == .invalidArgument)
                #expect(await code { try await upsert([point], tag: "e6") } == .failedPrecondition)
                #expect(
                    await code {
                        _ = try await client.upsert(collection: "nope", points: [point], embeddingVersionTag: "")
                    } == .notFound
                )
                #expect(
                    await code {
                        _ = try await client.createCollection(
                            CreateCollectionRequest(name: "v", dimension: 4, metric: .dot)
                        )
                    } == .alreadyExists
                )
                #expect(
                    await code { _ = try await client.query(VectorQuery(collection: "v", vector: [1, 0, 0], topK: 0)) }
                        == .invalidArgument
                )
                let unbounded = VectorFilter(must: [.range(key: "year", .init())])
                #expect(
                    await code { _ = try await client.delete(collection: "v", selector: .filter(unbounded)) }
                        == .invalidArgument
                )
                let many = (0..<1000).map { VectorPoint(id: "m\($0)", vector: [1, Float($0), 0]) }
                #expect(await code { try await upsert(many) } == .resourceExhausted)

                // And the collection still works afterwards
                try await upsert([point])
                #expect(try await client.collectionInfo(name: "v").count == 1)
            }
        }
    }

    @Test("what the domain cannot represent is INVALID_ARGUMENT")
    func unrepresentable() async throws {
        try await VectorMesh.withLocalService { local, _ in
            try await VectorMesh.withVector(serving: local) { client, raw in
                _ = try await client.createCollection(CreateCollectionRequest(name: "v", dimension: 2, metric: .l2))
                func status(_ body: () async throws -> Void) async -> RPCError.Code? {
                    do {
                        try await body()
                        return nil
                    } catch let error as RPCError {
                        return error.code
                    } catch {
                        return .unknown
                    }
                }

                // A collection without a metric
                var create = Sluice_Vector_V1_CreateCollectionRequest()
                create.name = "w"
                create.dimension = 2
                #expect(await status { _ = try await raw.createCollection(create) } == .invalidArgument)
                create.metric = .UNRECOGNIZED(9)
                #expect(await status { _ = try await raw.createCollection(create) } == .invalidArgument)

                // A payload value of no kind
                var point = Sluice_Vector_V1_Point()
                point.id = "a"
                point.vector = [1, 2]
                point.payload = ["k": Sluice_Vector_V1_PayloadValue()]
                var upsert = Sluice_Vector_V1_UpsertRequest()
                upsert.collection = "v"
                upsert.points = [point]
                #expect(await status { _ = try await raw.upsert(upsert) } == .invalidArgument)

                // A condition of no kind, and a match without a value
                var query = Sluice_Vector_V1_QueryRequest()
                query.collection = "v"
                query.vector = [1, 2]
                query.topK = 1
                query.filter.must = [Sluice_Vector_V1_Condition()]
                #expect(await status { _ = try await raw.query(query) } == .invalidArgument)
                var match = Sluice_Vector_V1_Condition()
                match.match.key = "k"
                query.filter.must = [match]
                #expect(await status { _ = try await raw.query(query) } == .invalidArgument)

                // A delete without a selector
                var delete = Sluice_Vector_V1_DeleteRequest()
                delete.collection = "v"
                #expect(await status { _ = try await raw.delete(delete) } == .invalidArgument)

                // And a well-formed request still succeeds
                point.payload = [:]
                upsert.points = [point]
                #expect(try await raw.upsert(upsert).upserted == 1)
            }
        }
    }

    @Test("a call past its deadline is unavailable, and a wrong token internal")
    func deadlineAndToken() async throws {
        // Given a service that takes 5 s and a client that waits 200 ms
        let slow = FailingVectorService(error: VectorError(.internal, "too late"), delay: .seconds(5))
        let started = ContinuousClock.now
        let late = await #expect(throws: VectorError.self) {
            try await VectorMesh.withVector(serving: slow, timeout: .milliseconds(200)) { client, _ in
                _ = try await client.collectionInfo(name: "docs")
            }
        }
        #expect(late?.code == .unavailable)
        #expect(ContinuousClock.now - started < .seconds(4))

        // Given a server that demands a token the client does not have
        let refused = await #expect(throws: VectorError.self) {
            try await VectorMesh.withVector(serving: slow, serverToken: "right", clientToken: "wrong") { client, _ in
                _ = try await client.collectionInfo(name: "docs")
            }
        }
        #expect(refused?.code == .internal)
    }
}
