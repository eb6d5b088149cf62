import Foundation
import GRDB
import Logging

/// Tenant and key policies on the local store.
extension LocalGovernanceService {
    // MARK: - Policies

    /// Replaces a tenant's or a key's policy; it applies within the key-cache lifetime (1 s) on every instance
    /// sharing the database.
    ///
    /// Rate limits in tokens, budgets and content controls are refused until Sluice enforces them, so that no
    /// policy promises what it does not do.
    @discardableResult
    package func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord {
        try policy.validate()
        if policy.tokensPerMinute != nil {
            throw GovernanceError(
                .invalidArgument,
                "tpm is not enforced yet; set rpm, allowed_models or route overrides"
            )
        }
        if !policy.budgets.isEmpty {
            throw GovernanceError(
                .invalidArgument,
                "budgets are not enforced yet; set rpm, allowed_models or route overrides"
            )
        }
        let body = String(decoding: try JSONEncoder().encode(policy), as: UTF8.self)
        let now = Date()
        let resolved = try await store.writer.write { db -> Policy.Scope in
            let resolved = try Self.resolve(scope, db)
            try db.execute(
                sql: """
                    INSERT INTO policy (scope, body, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(scope) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                    """,
                arguments: [resolved.description, body, now]
            )
            try Self.audit(
                db,
                actor: "system",
                action: "policy.set",
                target: resolved.description,
                outcome: "ok",
                details: body
            )
            return resolved
        }
        keys.removeAll()
        logger.info("policy set", metadata: ["scope": "\(resolved)"])
        return try await self.policy(for: resolved)
    }

    /// A tenant's or a key's policy (empty when none was set); for a key, also its effective policy.
    package func policy(for scope: Policy.Scope) async throws -> PolicyRecord {
        try await store.writer.read { db in
            let resolved = try Self.resolve(scope, db)
            func stored(_ scope: Policy.Scope) throws -> (Policy, Date)? {
                try Row.fetchOne(
                    db,
                    sql: "SELECT body, updated_at FROM policy WHERE scope = ?",
                    arguments: [scope.description]
                )
                .flatMap { row in Self.decodePolicy(row["body"]).map { ($0, row["updated_at"]) } }
            }
            let own = try stored(resolved)
            var record = PolicyRecord(scope: resolved, policy: own?.0 ?? Policy(), updatedAt: own?.1)
            if case .key(let id) = resolved {
                let tenant = try String.fetchOne(db, sql: "SELECT tenant_id FROM api_key WHERE id = ?", arguments: [id])
                let tenantPolicy = try tenant.flatMap { try stored(.tenant($0)) }?.0
                record.effective = Policy.tightest([tenantPolicy, own?.0].compactMap { $0 })
            }
            return record
        }
    }

    /// The id of a tenant given by name or id.
    ///
    /// - Throws: ``GovernanceError`` `notFound` when no tenant has that name or id.
    static func tenantID(_ tenant: String, _ db: Database) throws -> String {
        guard
            let id = try String.fetchOne(
                db,
                sql: "SELECT id FROM tenant WHERE id = ?1 OR name = ?1",
                arguments: [tenant]
            )
        else { throw GovernanceError(.notFound, "No tenant is named '\(tenant)' or has that id") }
        return id
    }

    /// A scope by ids: a tenant named by name or id, or an existing key.
    private static func resolve(_ scope: Policy.Scope, _ db: Database) throws -> Policy.Scope {
        switch scope {
        case .tenant(let tenant):
            return .tenant(try tenantID(tenant, db))
        case .key(let id):
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM api_key WHERE id = ?", arguments: [id]) != nil else {
                throw GovernanceError(.notFound, "No API key has the id '\(id)'")
            }
            return .key(id)
        }
    }

    static func decodePolicy(_ body: String?) -> Policy? {
        body.flatMap { try? JSONDecoder().decode(Policy.self, from: Data($0.utf8)) }
    }
}
