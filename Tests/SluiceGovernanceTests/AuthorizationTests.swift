import SluiceGovernance
import Testing

@Suite("Governance authorization")
struct AuthorizationTests {
    private let governance: LocalGovernanceService

    init() throws {
        governance = try GovernanceFixture().governance
    }

    private func code(_ request: AuthorizationRequest) async -> GovernanceError.Code? {
        await governanceErrorCode { try await governance.authorize(request) }
    }

    @Test("authorizes a newly created key as its tenant", .timeLimit(.minutes(1)))
    func authorizesCreatedKey() async throws {
        // Given a key for tenant acme
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "ci"))

        // When it is presented for a chat
        let authorization = try await governance.authorize(
            AuthorizationRequest(credential: created.plaintext, operation: .chat, model: "gpt-4o", requestID: "r1")
        )

        // Then the caller is that key of that tenant, allowed every model
        #expect(authorization.principal.keyID == created.info.id)
        #expect(authorization.principal.tenantID == created.info.tenantID)
        #expect(authorization.principal.tenantName == "acme")
        #expect(authorization.principal.roles == [.member])
        #expect(authorization.allowedModels == nil)
        #expect(authorization.allows(model: "anything"))
    }

    @Test("rejects a key with the right id and a wrong secret", .timeLimit(.minutes(1)))
    func wrongSecret() async throws {
        // Given a key, and the same key with one secret digit changed
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        var forged = created.plaintext
        let last = forged.removeLast()
        forged.append(last == "0" ? "1" : "0")

        // When the forged key is presented
        let code = await code(AuthorizationRequest(credential: forged, operation: .chat))

        // Then it is unauthenticated
        #expect(code == .unauthenticated)
    }

    @Test(
        "rejects unknown, malformed and missing keys as unauthenticated",
        .timeLimit(.minutes(1)),
        arguments: [
            "sk-sluice-0123456789abcdef-\(String(repeating: "ab", count: 24))",
            "sk-sluice-not-a-real-key",
            "garbage",
            "",
        ]
    )
    func unknownOrMalformed(credential: String) async throws {
        // Given a store with one key
        _ = try await governance.createKey(KeyCreationRequest(tenant: "acme"))

        // When another credential is presented
        let code = await code(AuthorizationRequest(credential: credential, operation: .chat))

        // Then it is unauthenticated
        #expect(code == .unauthenticated)
    }

    @Test("rejects a revoked key", .timeLimit(.minutes(1)))
    func revokedKey() async throws {
        // Given a key that worked, then was revoked
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        _ = try await governance.authorize(AuthorizationRequest(credential: created.plaintext, operation: .chat))
        try await governance.revokeKey(id: created.info.id)

        // When it is presented again
        let code = await code(AuthorizationRequest(credential: created.plaintext, operation: .chat))

        // Then it is refused as revoked
        #expect(code == .revoked)
    }

    @Test(
        "allow-list entries may use * for any run of characters",
        .timeLimit(.minutes(1)),
        arguments: [
            ("gpt-4o", true), ("gpt-4o-mini", true), ("gpt-4", false), ("my-gpt-4o", false),
            ("claude-3-5-sonnet", true), ("claude-sonnet", false), ("echo", true), ("echo-2", false),
        ]
    )
    func wildcardAllowList(model: String, allowed: Bool) async throws {
        // Given a key allowed "gpt-4o*", "claude-*-sonnet" and "echo"
        let created = try await governance.createKey(
            KeyCreationRequest(tenant: "acme", allowedModels: ["gpt-4o*", "claude-*-sonnet", "echo"])
        )

        // When it asks for a model
        let code = await code(AuthorizationRequest(credential: created.plaintext, operation: .chat, model: model))

        // Then the patterns decide
        #expect(code == (allowed ? nil : .modelNotAllowed))
    }

    @Test("only admin keys may override routes", .timeLimit(.minutes(1)))
    func routeOverride() async throws {
        // Given a member key and an admin key
        let member = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let admin = try await governance.createKey(KeyCreationRequest(tenant: "acme", roles: [.admin]))

        // When each asks for a route override
        let refused = await code(
            AuthorizationRequest(credential: member.plaintext, operation: .chat, model: "echo", route: "echo/echo")
        )
        let allowed = await code(
            AuthorizationRequest(credential: admin.plaintext, operation: .chat, model: "echo", route: "echo/echo")
        )

        // Then governance refuses the member and lets the admin through
        #expect(refused == .routeNotAllowed)
        #expect(allowed == nil)
    }

    @Test(
        "enforces a key's model allow-list",
        .timeLimit(.minutes(1)),
        arguments: [
            ("echo", nil), ("gpt-4o-mini", nil), ("gpt-4o", GovernanceError.Code.modelNotAllowed),
            ("ECHO", .modelNotAllowed),
        ]
    )
    func allowList(model: String, expected: GovernanceError.Code?) async throws {
        // Given a key allowed echo and gpt-4o-mini only
        let created = try await governance.createKey(
            KeyCreationRequest(tenant: "acme", allowedModels: ["echo", "gpt-4o-mini"])
        )

        // When it asks for a model
        let code = await code(AuthorizationRequest(credential: created.plaintext, operation: .chat, model: model))

        // Then only listed models are allowed
        #expect(code == expected)
    }

    @Test("an empty allow-list allows no model, but still authenticates", .timeLimit(.minutes(1)))
    func emptyAllowList() async throws {
        // Given a key allowed no model
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme", allowedModels: []))

        // When it asks for a model, and for no model
        let chat = await code(AuthorizationRequest(credential: created.plaintext, operation: .chat, model: "echo"))
        let list = try await governance.authorize(
            AuthorizationRequest(credential: created.plaintext, operation: .listModels)
        )

        // Then the model is refused and the list operation sees an empty allow-list
        #expect(chat == .modelNotAllowed)
        #expect(list.allowedModels == [])
        #expect(!list.allows(model: "echo"))
    }

    @Test(
        "requires the admin role for administrative calls",
        .timeLimit(.minutes(1)),
        arguments: [([Role.member], GovernanceError.Code.permissionDenied), ([.admin], nil), ([.member, .admin], nil)]
    )
    func adminOperation(roles: [Role], expected: GovernanceError.Code?) async throws {
        // Given a key with some roles
        let created = try await governance.createKey(KeyCreationRequest(tenant: "ops", roles: roles))

        // When it makes an administrative call
        let code = await code(AuthorizationRequest(credential: created.plaintext, operation: .admin))

        // Then only admins may
        #expect(code == expected)
    }
}
