import SluiceGovernance
import SluiceGovernanceGRPC
import Testing

@Suite("Governance client: authorization", .timeLimit(.minutes(1)))
struct GovernanceClientAuthorizationTests {
    private static let principal = Principal(tenantID: "ten_1", tenantName: "acme", keyID: "key_1", roles: [.member])

    @Test("asks governance on every call, so limits counted there see every request")
    func asksEveryTime() async throws {
        // Given a governance service that allows everything
        let fake = FakeGovernanceService(
            authorizationResult: .success(Authorization(principal: Self.principal, allowedModels: nil))
        )
        let request = AuthorizationRequest(
            credential: "sk-sluice-a",
            operation: .chat,
            model: "echo",
            requestID: "req-a"
        )
        try await InProcessMesh.withGovernance(serving: fake) { client, _ in
            // When the same authorization is asked three times
            for _ in 0..<3 { _ = try await client.authorize(request) }
        }
        // Then governance was asked three times
        #expect(fake.authorizationRequests.map(\.model) == ["echo", "echo", "echo"])
    }

    @Test("carries the route override, and a route denial comes back as such")
    func routeOverride() async throws {
        // Given a governance service that refuses route overrides
        let fake = FakeGovernanceService(
            authorizationResult: .failure(GovernanceError(.routeNotAllowed, "This API key may not override routes"))
        )
        let request = AuthorizationRequest(
            credential: "sk-sluice-b",
            operation: .chat,
            model: "echo",
            requestID: "req-b",
            route: "mock-openai/gpt-4o"
        )
        // When a caller asks for a route
        let error = await #expect(throws: GovernanceError.self) {
            try await InProcessMesh.withGovernance(serving: fake) { client, _ in
                try await client.authorize(request)
            }
        }
        // Then governance saw the route, and the denial is a route denial
        #expect(fake.authorizationRequests.map(\.route) == ["mock-openai/gpt-4o"])
        #expect(error?.code == .routeNotAllowed)
    }
}
