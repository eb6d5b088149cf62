import Foundation
import GRPCCore
import SluiceGovernance
import SluiceGovernanceGRPC
import Testing

@Suite("Governance over gRPC", .timeLimit(.minutes(1)))
struct GovernanceGRPCTests {
    private static let principal = Principal(
        tenantID: "ten_1",
        tenantName: "Acme Ünited",
        keyID: "key_9",
        roles: [.admin, .member]
    )
    private static let service = "sluice.governance.v1.GovernanceService"

    @Test(
        "authorize returns the principal and allow-list, and the server sees the exact request",
        arguments: [
            [String]?.none, [], ["gpt-4o", "echo"],
        ]
    )
    func authorizeAllowed(allowedModels: [String]?) async throws {
        // Given an implementation that allows the caller
        let expected = Authorization(principal: Self.principal, allowedModels: allowedModels)
        let fake = FakeGovernanceService(authorizationResult: .success(expected))
        let request = AuthorizationRequest(
            credential: "sk-sluice-abc",
            operation: .countTokens,
            model: "gpt-4o",
            requestID: "req-1"
        )

        // When the client asks
        let authorization = try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            try await client.authorize(request)
        }

        // Then the answer and the request survive the wire unchanged
        #expect(authorization == expected)
        #expect(fake.authorizationRequests == [request])
    }

    @Test(
        "denials come back as the same GovernanceError",
        arguments: [
            GovernanceError(.unauthenticated, "Incorrect API key provided"),
            GovernanceError(.modelNotAllowed, "This API key may not use the model 'gpt-4o'"),
            GovernanceError(.permissionDenied, "This API key may not perform administrative calls"),
        ]
    )
    func authorizeDenied(expected: GovernanceError) async throws {
        // Given an implementation that denies the caller
        let fake = FakeGovernanceService(authorizationResult: .failure(expected))

        // When the client asks
        let error = await #expect(throws: GovernanceError.self) {
            try await InProcessMesh.withGovernance(serving: fake) { client, _ in
                try await client.authorize(
                    AuthorizationRequest(credential: "sk-x", operation: .chat, model: "gpt-4o", requestID: "req-2")
                )
            }
        }

        // Then it throws the same error the local service would have thrown
        #expect(error == expected)
    }

    @Test("a store failure during authorize comes back as internal")
    func authorizeInternal() async throws {
        // Given an implementation whose store fails
        let expected = GovernanceError(.internal, "The store failed")
        let fake = FakeGovernanceService(authorizationResult: .failure(expected))

        // When the client asks
        let error = await #expect(throws: GovernanceError.self) {
            try await InProcessMesh.withGovernance(serving: fake) { client, _ in
                try await client.authorize(
                    AuthorizationRequest(credential: "sk-x", operation: .chat, requestID: "req-3")
                )
            }
        }

        // Then the error keeps its code and message
        #expect(error == expected)
    }

    @Test("createKey, listKeys and revokeKey round trip")
    func keyLifecycle() async throws {
        // Given an empty key store
        let fake = FakeGovernanceService()

        try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            // When two keys are created and one is revoked
            let first = try await client.createKey(
                KeyCreationRequest(tenant: "Acme Ünited", name: "ci", allowedModels: [], roles: [.admin])
            )
            let second = try await client.createKey(KeyCreationRequest(tenant: "globex", name: "web"))
            try await client.revokeKey(id: first.info.id)

            // Then creation returns the details and plaintext the implementation made
            let stored = try await fake.listKeys(tenant: nil)
            #expect(first.plaintext == "sk-sluice-key_1-secret")
            #expect(first.info.allowedModels == [])
            #expect(second.info == stored[1])

            // And listing returns every key, revoked ones included, with tenant names, or one tenant's keys
            let all = try await client.listKeys(tenant: nil)
            let globex = try await client.listKeys(tenant: "globex")
            let acme = try await client.listKeys(tenant: "Acme Ünited")
            #expect(all == stored)
            #expect(globex == [second.info])
            #expect(acme.count == 1 && acme.first?.revokedAt != nil)

            // And revoking an unknown key is not_found
            let error = await #expect(throws: GovernanceError.self) { try await client.revokeKey(id: "key_404") }
            #expect(error?.code == .notFound)
        }
    }

    @Test("a usage record reaches the implementation unchanged")
    func recordUsage() async throws {
        // Given a usage record of a failed call
        let fake = FakeGovernanceService()
        let record = UsageRecord(
            requestID: "req-7",
            principal: Self.principal,
            model: "gpt-4o",
            provider: "openai",
            upstreamModel: "gpt-4o-2024-08-06",
            promptTokens: 100,
            completionTokens: 3,
            isEstimated: true,
            latencyMilliseconds: 812,
            outcome: "stream_interrupted"
        )

        // When the client records it
        try await InProcessMesh.withGovernance(serving: fake) { client, _ in try await client.recordUsage(record) }

        // Then the implementation received the same record
        #expect(fake.usageRecords == [record])
    }

    @Test("an RPC the domain does not implement gets the framework's unimplemented status")
    func unimplemented() async throws {
        // Given a governance server
        let fake = FakeGovernanceService()

        // When a client calls GetKey, which the domain protocol has no method for
        let error = await #expect(throws: RPCError.self) {
            try await InProcessMesh.withGovernance(serving: fake) { _, grpc in
                _ = try await InProcessMesh.rawUnaryCall(grpc, service: Self.service, method: "GetKey")
            }
        }

        // Then grpc-swift answers UNIMPLEMENTED
        #expect(error?.code == .unimplemented)
    }

    @Test("the internal token interceptor refuses a wrong token and accepts the right one")
    func internalToken() async throws {
        // Given a server that requires the token "s3cret"
        let allowed = Authorization(principal: Self.principal, allowedModels: nil)
        let fake = FakeGovernanceService(authorizationResult: .success(allowed))
        let request = AuthorizationRequest(credential: "sk-x", operation: .chat, requestID: "req-4")

        try await InProcessMesh.withGovernance(serving: fake, serverToken: "s3cret", clientToken: "s3cret") {
            client,
            grpc in
            // When calls come without a token and with a wrong one
            let missing = await #expect(throws: RPCError.self) {
                _ = try await InProcessMesh.rawUnaryCall(grpc, service: Self.service, method: "Authorize")
            }
            let wrong = await #expect(throws: RPCError.self) {
                _ = try await InProcessMesh.rawUnaryCall(
                    grpc,
                    service: Self.service,
                    method: "Authorize",
                    metadata: ["authorization": "Bearer s3cre7"]
                )
            }

            // Then both are UNAUTHENTICATED and never reach the implementation
            #expect(missing?.code == .unauthenticated)
            #expect(wrong?.code == .unauthenticated)
            #expect(fake.authorizationRequests.isEmpty)

            // And the client with the right token is served
            let authorization = try await client.authorize(request)
            #expect(authorization == allowed)
        }

        // And a client with a wrong token fails closed with internal, not with the end user's unauthenticated
        let error = await #expect(throws: GovernanceError.self) {
            try await InProcessMesh.withGovernance(serving: fake, serverToken: "s3cret", clientToken: "nope") {
                client,
                _ in
                try await client.authorize(request)
            }
        }
        #expect(error?.code == .internal)
    }
}
