import Foundation
import GRDB
import SluiceGovernance
import Testing

@Suite("Governance key management and ledger")
struct KeyManagementTests {
    private let store: GovernanceStore
    private let governance: LocalGovernanceService

    init() throws {
        let fixture = try GovernanceFixture()
        store = fixture.store
        governance = fixture.governance
    }

    private func code<T>(_ operation: () async throws -> T) async -> GovernanceError.Code? {
        await governanceErrorCode(operation)
    }

    @Test("stores only the SHA-256 of the secret, never the key", .timeLimit(.minutes(1)))
    func storesHashOnly() async throws {
        // Given a created key
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "ci"))
        let secret = try #require(KeyMaterial.parse(created.plaintext)).secret

        // When the stored row is read back
        let id = created.info.id
        let fetched = try store.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE id = ?", arguments: [id])
        }
        let row = try #require(fetched)

        // Then it holds the hash of the secret, and no column holds the secret or the key
        let stored: Data = row["secret_sha256"]
        #expect(Array(stored) == KeyMaterial.hash(secret: secret))
        for column in row.columnNames {
            let text = row[column].map { String(describing: $0) } ?? ""
            #expect(!text.contains(secret), "column \(column) holds the secret")
            #expect(!text.contains(created.plaintext), "column \(column) holds the key")
        }
    }

    @Test("creates a tenant once and reuses it", .timeLimit(.minutes(1)))
    func reusesTenant() async throws {
        // Given two keys for the same tenant and one for another
        let first = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let second = try await governance.createKey(KeyCreationRequest(tenant: " acme "))
        let other = try await governance.createKey(KeyCreationRequest(tenant: "globex"))

        // Then the first two share a tenant id and the third does not
        #expect(first.info.tenantID == second.info.tenantID)
        #expect(second.info.tenantName == "acme")
        #expect(first.info.tenantID != other.info.tenantID)
        #expect(first.info.id != second.info.id)
        let tenants = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tenant") }
        #expect(tenants == 2)
    }

    @Test(
        "rejects invalid key requests",
        .timeLimit(.minutes(1)),
        arguments: [
            KeyCreationRequest(tenant: ""),
            KeyCreationRequest(tenant: "   "),
            KeyCreationRequest(tenant: String(repeating: "t", count: 129)),
            KeyCreationRequest(tenant: "acme", allowedModels: ["echo", ""]),
        ]
    )
    func rejectsInvalidRequests(request: KeyCreationRequest) async throws {
        // When an invalid key is requested
        let code = await code { try await governance.createKey(request) }

        // Then it is refused and nothing is stored
        #expect(code == .invalidArgument)
        #expect(try await governance.listKeys(tenant: nil).isEmpty)
    }

    @Test("lists keys with their details but never their secrets", .timeLimit(.minutes(1)))
    func listsWithoutSecrets() async throws {
        // Given a key with an allow-list and roles
        let created = try await governance.createKey(
            KeyCreationRequest(tenant: "acme", name: "ci", allowedModels: ["echo"], roles: [.admin, .member])
        )

        // When keys are listed
        let keys = try await governance.listKeys(tenant: nil)

        // Then the key is there with its details, and nothing in the listing reveals the secret
        let key = try #require(keys.first)
        #expect(keys.count == 1)
        #expect(key.id == created.info.id)
        #expect(key.tenantID == created.info.tenantID)
        #expect(key.tenantName == "acme")
        #expect(key.name == "ci")
        #expect(key.allowedModels == ["echo"])
        #expect(key.roles == [.admin, .member])
        #expect(key.revokedAt == nil)
        #expect(abs(key.createdAt.timeIntervalSince(created.info.createdAt)) < 0.01)
        let secret = try #require(KeyMaterial.parse(created.plaintext)).secret
        #expect(!String(describing: keys).contains(secret))
    }

    @Test("filters the listing by tenant name", .timeLimit(.minutes(1)))
    func filtersByTenant() async throws {
        // Given keys of two tenants
        let acme1 = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let globex = try await governance.createKey(KeyCreationRequest(tenant: "globex"))
        let acme2 = try await governance.createKey(KeyCreationRequest(tenant: "acme"))

        // When they are listed per tenant
        let acme = try await governance.listKeys(tenant: "acme")
        let onlyGlobex = try await governance.listKeys(tenant: "globex")
        let nobody = try await governance.listKeys(tenant: "initech")
        let all = try await governance.listKeys(tenant: nil)

        // Then each listing holds that tenant's keys only
        #expect(Set(acme.map(\.id)) == [acme1.info.id, acme2.info.id])
        #expect(onlyGlobex.map(\.id) == [globex.info.id])
        #expect(nobody.isEmpty)
        #expect(all.count == 3)
    }

    @Test("marks a revoked key in the listing and refuses to revoke it twice", .timeLimit(.minutes(1)))
    func revokes() async throws {
        // Given a key
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))

        // When it is revoked twice
        try await governance.revokeKey(id: created.info.id)
        let again = await code { try await governance.revokeKey(id: created.info.id) }

        // Then it is listed as revoked, and the second revocation finds no active key
        #expect(try await governance.listKeys(tenant: "acme").first?.revokedAt != nil)
        #expect(again == .notFound)
    }

    @Test("refuses to revoke an unknown key", .timeLimit(.minutes(1)))
    func revokeUnknown() async throws {
        // When an unknown id is revoked
        let code = await code { try await governance.revokeKey(id: "0123456789abcdef") }

        // Then it is not found
        #expect(code == .notFound)
    }

    @Test("keeps a revocation's reason in the audit log and answers with the revoked key", .timeLimit(.minutes(1)))
    func revocationReason() async throws {
        // Given a key
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme", name: "ci"))

        // When it is revoked with a reason, and an empty id is revoked
        let revoked = try await governance.revokeKey(id: created.info.id, reason: "leaked in a build log")
        let empty = await code { try await governance.revokeKey(id: "", reason: "") }

        // Then the answer is the revoked key, the reason is audited, and the empty id is refused
        #expect(revoked.id == created.info.id && revoked.name == "ci" && revoked.revokedAt != nil)
        let details = try await store.writer.read { db in
            try String.fetchOne(db, sql: "SELECT details FROM audit_log WHERE action = 'key.revoke'")
        }
        #expect(details == "leaked in a build log")
        #expect(empty == .invalidArgument)
    }

    @Test("audits key creation and revocation", .timeLimit(.minutes(1)))
    func audits() async throws {
        // Given a created and revoked key, and a failed revocation
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        try await governance.revokeKey(id: created.info.id)
        _ = await code { try await governance.revokeKey(id: "ffffffffffffffff") }

        // When the audit log is read
        let rows = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT action, target, outcome FROM audit_log ORDER BY id")
        }

        // Then every change is in it, with its outcome
        let entries = rows.map { [$0["action"], $0["target"], $0["outcome"]] as [String] }
        #expect(
            entries == [
                ["key.create", created.info.id, "ok"], ["key.revoke", created.info.id, "ok"],
                ["key.revoke", "ffffffffffffffff", "not_found"],
            ]
        )
    }

    @Test("knows whether any key exists", .timeLimit(.minutes(1)))
    func hasKeys() async throws {
        // Given an empty store
        let before = try await governance.hasKeys()

        // When a key is created and revoked
        let created = try await governance.createKey(KeyCreationRequest(tenant: "admin", roles: [.admin]))
        try await governance.revokeKey(id: created.info.id)

        // Then a revoked key still counts
        #expect(!before)
        #expect(try await governance.hasKeys())
    }

    @Test("writes one ledger row per usage record", .timeLimit(.minutes(1)))
    func recordsUsage() async throws {
        // Given a caller
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let principal = try await governance.authorize(
            AuthorizationRequest(credential: created.plaintext, operation: .chat)
        ).principal

        // When a call's usage is recorded
        try await governance.recordUsage(
            UsageRecord(
                requestID: "req-1",
                principal: principal,
                model: "gpt-4o",
                provider: "openai",
                upstreamModel: "gpt-4o-2024",
                promptTokens: 12,
                completionTokens: 34,
                isEstimated: true,
                latencyMilliseconds: 56,
                outcome: "ok"
            )
        )

        // Then the ledger holds exactly that row
        let rows = try store.writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM usage_ledger") }
        let row = try #require(rows.first)
        #expect(rows.count == 1)
        #expect(row["request_id"] as String? == "req-1")
        #expect(row["tenant_id"] as String? == created.info.tenantID)
        #expect(row["key_id"] as String? == created.info.id)
        #expect(row["model"] as String? == "gpt-4o")
        #expect(row["provider"] as String? == "openai")
        #expect(row["upstream_model"] as String? == "gpt-4o-2024")
        #expect(row["prompt_tokens"] as Int? == 12)
        #expect(row["completion_tokens"] as Int? == 34)
        #expect(row["estimated"] as Bool? == true)
        #expect(row["latency_ms"] as Int? == 56)
        #expect(row["outcome"] as String? == "ok")
        #expect((row["recorded_at"] as Date?) != nil)
    }

    @Test("counts a request once however often its usage is written", .timeLimit(.minutes(1)))
    func idempotentUsage() async throws {
        // Given a caller and two calls
        let created = try await governance.createKey(KeyCreationRequest(tenant: "acme"))
        let principal = try await governance.authorize(
            AuthorizationRequest(credential: created.plaintext, operation: .chat)
        ).principal
        func record(_ id: String) -> UsageRecord {
            UsageRecord(
                requestID: id,
                principal: principal,
                model: "m",
                provider: "p",
                upstreamModel: "u",
                promptTokens: 1,
                completionTokens: 2,
                isEstimated: false,
                latencyMilliseconds: 3,
                outcome: "ok"
            )
        }

        // When a batch is written, then retried, then one record is written again alone
        try await governance.recordUsage(batch: [record("a"), record("b")])
        try await governance.recordUsage(batch: [record("a"), record("b")])
        try await governance.recordUsage(record("a"))

        // Then each request appears once
        let ids = try await store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT request_id FROM usage_ledger ORDER BY request_id")
        }
        #expect(ids == ["a", "b"])
    }
}
