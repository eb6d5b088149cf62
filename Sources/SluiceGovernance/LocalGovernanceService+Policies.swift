import Foundation
import GRDB
import Logging

/// Tenant, project and key policies on the local store.
extension LocalGovernanceService {
    // MARK: - Policies

    /// Replaces a tenant's, a project's or a key's policy, whole; it applies within the key-cache lifetime (1 s) on
    /// every instance sharing the database.
    @discardableResult
    package func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord {
        try policy.validate()
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
        // The policy is stored: an unreachable limit store only leaves the budgets' consumption out of the answer.
        var record = try await storedPolicy(for: resolved)
        record.budgets = (try? await budgetStatus(of: record.scope, policy: record.policy)) ?? []
        return record
    }

    /// A tenant's, a project's or a key's policy (empty when none was set) with its budgets' consumption; for a key,
    /// also its effective policy.
    package func policy(for scope: Policy.Scope) async throws -> PolicyRecord {
        var record = try await storedPolicy(for: scope)
        do {
            record.budgets = try await budgetStatus(of: record.scope, policy: record.policy)
        } catch let error as QuotaStoreError {
            quotaHealth.failed(error, logger: logger)
            throw GovernanceError(.unavailable, "Budget consumption cannot be read right now; try again shortly")
        }
        return record
    }

    private func storedPolicy(for scope: Policy.Scope) async throws -> PolicyRecord {
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
            if case .key(let id) = resolved,
                let key = try Row.fetchOne(
                    db,
                    sql: "SELECT tenant_id, project_id FROM api_key WHERE id = ?",
                    arguments: [id]
                )
            {
                let tenantPolicy = try stored(.tenant(key["tenant_id"]))?.0
                let projectPolicy = try (key["project_id"] as String?).flatMap { try stored(.project($0)) }?.0
                record.effective = Policy.tightest([tenantPolicy, projectPolicy, own?.0].compactMap { $0 })
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

    /// A scope by ids: a tenant named by name or id, a project by id or as `tenant/project`, or an existing key.
    private static func resolve(_ scope: Policy.Scope, _ db: Database) throws -> Policy.Scope {
        switch scope {
        case .tenant(let tenant):
            return .tenant(try tenantID(tenant, db))
        case .project(let project):
            return .project(try projectID(project, db))
        case .key(let id):
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM api_key WHERE id = ?", arguments: [id]) != nil else {
                throw GovernanceError(.notFound, "No API key has the id '\(id)'")
            }
            return .key(id)
        }
    }

    /// The id of a project given by id or as `tenant/project` (each by name or id).
    ///
    /// - Throws: ``GovernanceError`` `notFound` when no project matches.
    static func projectID(_ project: String, _ db: Database) throws -> String {
        let parts = project.split(separator: "/", maxSplits: 1).map(String.init)
        let id: String? =
            if parts.count == 2 {
                try String.fetchOne(
                    db,
                    sql: "SELECT id FROM project WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2)",
                    arguments: [try tenantID(parts[0], db), parts[1]]
                )
            } else {
                try String.fetchOne(db, sql: "SELECT id FROM project WHERE id = ?", arguments: [project])
            }
        guard let id else {
            throw GovernanceError(.notFound, "No project is '\(project)' (give its id, or tenant/project)")
        }
        return id
    }

    static func decodePolicy(_ body: String?) -> Policy? {
        body.flatMap { try? JSONDecoder().decode(Policy.self, from: Data($0.utf8)) }
    }
}
