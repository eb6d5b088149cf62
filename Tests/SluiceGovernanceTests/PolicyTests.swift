import Foundation
import GRDB
import Logging
import SluiceGovernance
import Testing

@Suite("Policies")
struct PolicyTests {
    @Test(
        "a malformed policy is refused, naming the field",
        arguments: [
            (Policy(requestsPerMinute: 0), "rpm must be a positive number"),
            (Policy(tokensPerMinute: -5), "tpm must be a positive number"),
            (Policy(allowedModels: ["gpt 4"]), "allowed_models[0]"),
            (Policy(budgets: [.init(period: .day)]), "budgets[0] needs token_limit or money_limit_micros"),
            (
                Policy(budgets: [.init(period: .day, tokenLimit: 1), .init(period: .day, tokenLimit: 2)]),
                "budgets[1]: a second budget"
            ),
        ]
    )
    func validation(policy: Policy, message: String) {
        #expect {
            try policy.validate()
        } throws: { error in
            (error as? GovernanceError)?.code == .invalidArgument && "\(error)".contains(message)
        }
    }

    @Test("the tightest of several policies: lists intersect, the smaller limit, the stricter switch")
    func tightest() {
        let effective = Policy.tightest([
            Policy(allowedModels: ["gpt-*"], requestsPerMinute: 600, allowRouteOverride: true),
            Policy(allowedModels: ["gpt-4o"], requestsPerMinute: 60, allowRouteOverride: false),
            Policy(requestsPerMinute: 100),
        ])
        #expect(effective.allowLists == [["gpt-*"], ["gpt-4o"]])
        #expect(effective.requestsPerMinute == 60)
        #expect(effective.allowRouteOverride == false)
    }

    @Test("governance applies tenant and key policies: allow-lists, route overrides and requests per minute")
    func governanceEnforces() async throws {
        // Given a tenant with a member key and an admin key
        let store = try GovernanceStore(writer: DatabaseQueue())
        let governance = LocalGovernanceService(
            store: store,
            logger: Logger(label: "test"),
            keyCacheTTL: .zero
        )
        let member = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "m"))
        let admin = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "a", roles: [.admin]))
        func authorize(_ key: CreatedKey, model: String? = "gpt-4o", route: String? = nil) async throws -> Authorization
        {
            try await governance.authorize(
                AuthorizationRequest(
                    credential: key.plaintext,
                    operation: .chat,
                    model: model,
                    requestID: "r",
                    route: route
                )
            )
        }

        // When the tenant allows gpt-* at 2 requests a minute and lets keys override routes, and the admin key is
        // narrowed to gpt-4o and refused overrides
        let set = try await governance.setPolicy(
            Policy(allowedModels: ["gpt-*"], requestsPerMinute: 2, allowRouteOverride: true),
            for: .tenant("acme")
        )
        try await governance.setPolicy(
            Policy(allowedModels: ["gpt-4o"], allowRouteOverride: false),
            for: .key(admin.info.id)
        )

        // Then the policies are stored by id, and a key's effective policy is the tightest of both
        #expect(set.scope == .tenant(member.info.tenantID) && set.updatedAt != nil)
        let effective = try await governance.policy(for: .key(admin.info.id)).effective
        #expect(effective?.allowLists == [["gpt-*"], ["gpt-4o"]] && effective?.requestsPerMinute == 2)
        // And the member may override routes, the admin may not, and only allowed models pass
        let allowed = try await authorize(member, route: "p/m")
        #expect(allowed.requestLimit?.limit == 2 && allowed.requestLimit?.remaining == 1)
        let adminOverride = await governanceErrorCode { try await authorize(admin, route: "p/m") }
        let notListed = await governanceErrorCode { try await authorize(admin, model: "gpt-4o-mini") }
        #expect(adminOverride == .routeNotAllowed && notListed == .modelNotAllowed)
        // And the tenant's second request of the minute passes, the third is refused with when to retry
        _ = try await authorize(admin)
        do {
            _ = try await authorize(member)
            Issue.record("the third request of the minute was admitted")
        } catch let error as GovernanceError {
            #expect(error.code == .rateLimited)
            #expect((error.retryAfter ?? .zero) > .seconds(25) && (error.retryAfter ?? .zero) <= .seconds(30))
            #expect(error.requestLimit?.limit == 2 && error.requestLimit?.remaining == 0)
        }
    }

    @Test("unknown scopes are refused, and an unset policy reads as empty")
    func refusesUnknownScopes() async throws {
        let governance = LocalGovernanceService(
            store: try GovernanceStore(writer: DatabaseQueue()),
            logger: Logger(label: "t")
        )
        _ = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let unknown = await governanceErrorCode {
            try await governance.setPolicy(Policy(requestsPerMinute: 5), for: .tenant("nobody"))
        }
        let missingKey = await governanceErrorCode { try await governance.policy(for: .key("0123456789abcdef")) }
        let missingProject = await governanceErrorCode { try await governance.policy(for: .project("acme/none")) }
        #expect([unknown, missingKey, missingProject] == [.notFound, .notFound, .notFound])
        let empty = try await governance.policy(for: .tenant("acme"))
        #expect(empty.policy == Policy() && empty.updatedAt == nil && empty.budgets.isEmpty)
    }
}
