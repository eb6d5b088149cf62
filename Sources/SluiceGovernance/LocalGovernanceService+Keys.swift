import Foundation
import GRDB
import Logging

/// API keys on the local store: created with their tenant and project, listed without secrets, revoked.
extension LocalGovernanceService {
    // MARK: - Keys

    /// Creates a key and, if needed, its tenant; the plaintext is returned only here.
    package func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey {
        let tenant = request.tenant.trimmingCharacters(in: .whitespaces)
        guard !tenant.isEmpty, tenant.count <= 128 else {
            throw GovernanceError(.invalidArgument, "A tenant name of 1 to 128 characters is required")
        }
        if let models = request.allowedModels, models.contains(where: \.isEmpty) {
            throw GovernanceError(.invalidArgument, "Allowed model names must not be empty")
        }
        let project = request.project?.trimmingCharacters(in: .whitespaces)
        if let project, project.isEmpty || project.count > 128 || project.contains("/") {
            throw GovernanceError(.invalidArgument, "A project name must have 1 to 128 characters and no '/'")
        }
        let roles = request.roles.isEmpty ? [Role.member] : request.roles
        let (id, plaintext) = KeyMaterial.generate()
        let secret = KeyMaterial.parse(plaintext)!.secret
        let now = Date()
        let info = try await store.writer.write { db in
            let tenantID: String
            if let existing = try String.fetchOne(db, sql: "SELECT id FROM tenant WHERE name = ?", arguments: [tenant])
            {
                tenantID = existing
            } else {
                tenantID = Self.newID("ten_")
                try db.execute(
                    sql: "INSERT INTO tenant (id, name, created_at) VALUES (?, ?, ?)",
                    arguments: [tenantID, tenant, now]
                )
            }
            var projectRow: (id: String, name: String)?
            if let project {
                if let row = try Row.fetchOne(
                    db,
                    sql: "SELECT id, name FROM project WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2)",
                    arguments: [tenantID, project]
                ) {
                    projectRow = (row["id"], row["name"])
                } else {
                    projectRow = (Self.newID("prj_"), project)
                    try db.execute(
                        sql: "INSERT INTO project (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)",
                        arguments: [projectRow!.id, tenantID, project, now]
                    )
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO api_key (id, tenant_id, name, secret_sha256, allowed_models, roles, created_at,
                        project_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, tenantID, request.name, Data(KeyMaterial.hash(secret: secret)),
                    Self.encodeModels(request.allowedModels), Self.encodeRoles(roles), now, projectRow?.id,
                ]
            )
            try Self.audit(db, actor: "system", action: "key.create", target: id, outcome: "ok")
            return APIKeyInfo(
                id: id,
                tenantID: tenantID,
                tenantName: tenant,
                name: request.name,
                allowedModels: request.allowedModels,
                roles: roles,
                createdAt: now,
                revokedAt: nil,
                projectID: projectRow?.id,
                projectName: projectRow?.name
            )
        }
        logger.info("API key created", metadata: ["key_id": "\(id)", "tenant": "\(tenant)"])
        return CreatedKey(info: info, plaintext: plaintext)
    }

    /// Lists keys, oldest first, without their secrets.
    package func listKeys(tenant: String?) async throws -> [APIKeyInfo] {
        try await store.writer.read { db in
            try Self.fetchKeys(db, where: "?1 IS NULL OR t.name = ?1", arguments: [tenant])
        }
    }

    private static func fetchKeys(
        _ db: Database,
        where condition: String,
        arguments: StatementArguments
    ) throws
        -> [APIKeyInfo]
    {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT k.id, k.tenant_id, t.name AS tenant_name, k.name, k.allowed_models, k.roles,
                       k.created_at, k.revoked_at, k.project_id, p.name AS project_name
                FROM api_key k JOIN tenant t ON t.id = k.tenant_id LEFT JOIN project p ON p.id = k.project_id
                WHERE \(condition)
                ORDER BY k.created_at, k.id
                """,
            arguments: arguments
        )
        return rows.map { row in
            APIKeyInfo(
                id: row["id"],
                tenantID: row["tenant_id"],
                tenantName: row["tenant_name"],
                name: row["name"],
                allowedModels: decodeModels(row["allowed_models"]),
                roles: decodeRoles(row["roles"]),
                createdAt: row["created_at"],
                revokedAt: row["revoked_at"],
                projectID: row["project_id"],
                projectName: row["project_name"]
            )
        }
    }

    /// Revokes a key; it stops working at once in this process (other processes within their key-cache lifetime).
    ///
    /// - Parameters:
    ///   - id: The key id.
    ///   - reason: Why, kept in the audit log's details.
    /// - Returns: The revoked key.
    /// - Throws: ``GovernanceError`` with `invalidArgument` for an empty id, `notFound` for an unknown or already
    ///   revoked key.
    @discardableResult
    package func revokeKey(id: String, reason: String) async throws -> APIKeyInfo {
        guard !id.isEmpty else { throw GovernanceError(.invalidArgument, "A key id is required") }
        let revoked = try await store.writer.write { db -> APIKeyInfo? in
            try db.execute(
                sql: "UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Date(), id]
            )
            let changes = db.changesCount
            try Self.audit(
                db,
                actor: "system",
                action: "key.revoke",
                target: id,
                outcome: changes > 0 ? "ok" : "not_found",
                details: reason
            )
            guard changes > 0 else { return nil }
            return try Self.fetchKeys(db, where: "k.id = ?", arguments: [id]).first
        }
        keys.remove(id)
        guard let revoked else {
            throw GovernanceError(.notFound, "No active API key has the id '\(id)'")
        }
        logger.info("API key revoked", metadata: ["key_id": "\(id)"])
        return revoked
    }

    /// Whether any API key exists; `sluice serve` creates an admin key when none does.
    ///
    /// - Returns: `true` when the store holds at least one key, revoked or not.
    package func hasKeys() async throws -> Bool {
        try await store.writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_key)") ?? false
        }
    }
}
