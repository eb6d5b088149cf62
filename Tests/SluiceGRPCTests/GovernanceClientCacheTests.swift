import SluiceGovernance
import SluiceGovernanceGRPC
import Testing

@Suite("Governance client: authorization cache", .timeLimit(.minutes(1)))
struct GovernanceClientCacheTests {
    private static let principal = Principal(tenantID: "ten_1", tenantName: "acme", keyID: "key_1", roles: [.member])

    @Test("reuses a successful authorization for the same credential, operation and model")
    func reusesSuccess() async throws {
        // Given a governance service that allows everything
        let fake = FakeGovernanceService(
            authorizationResult: .success(Authorization(principal: Self.principal, allowedModels: nil))
        )
        let request = AuthorizationRequest(credential: "sk-sluice-a", operation: .chat, model: "echo")
        try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            // When the same authorization is asked three times, and once for another model
            for _ in 0..<3 { _ = try await client.authorize(request) }
            var other = request
            other.model = "gpt-4o"
            _ = try await client.authorize(other)
        }
        // Then governance was asked once per distinct question
        #expect(fake.authorizationRequests.map(\.model) == ["echo", "gpt-4o"])
    }

    @Test("never reuses a denial")
    func neverReusesDenial() async throws {
        // Given a governance service that denies
        let fake = FakeGovernanceService(authorizationResult: .failure(GovernanceError(.unauthenticated, "no")))
        let request = AuthorizationRequest(credential: "sk-sluice-b", operation: .chat, model: "echo")
        try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            // When it is asked twice
            for _ in 0..<2 {
                await #expect(throws: GovernanceError.self) { try await client.authorize(request) }
            }
        }
        // Then both questions reached governance
        #expect(fake.authorizationRequests.count == 2)
    }
}
