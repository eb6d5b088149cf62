package import Foundation
package import GRDB

/// The governance database: tenants, projects, API keys, policies, the usage ledger and the audit log, on SQLite.
///
/// The database lives at `governance.sqlite` in the data directory, in WAL mode so the CLI and a running
/// server can use it at once. Migrations run when the store opens.
package struct GovernanceStore: Sendable {
    /// The database connection pool.
    package let writer: any DatabaseWriter

    /// Opens (creating if needed) the store in a data directory.
    ///
    /// - Parameter dataDirectory: The data directory; created if missing.
    /// - Returns: The migrated store.
    package static func open(dataDirectory: URL) throws -> GovernanceStore {
        try open(path: dataDirectory.appendingPathComponent("governance.sqlite").path)
    }

    /// Opens (creating if needed) the store at a path; replicas on one host may share it (`governance.database`).
    ///
    /// - Parameter path: The database file; its folder is created if missing.
    /// - Returns: The migrated store.
    package static func open(path: String) throws -> GovernanceStore {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: configuration)
        return try GovernanceStore(writer: pool)
    }

    /// Wraps a database, running the migrations.
    ///
    /// - Parameter writer: A database, for tests an in-memory `DatabaseQueue`.
    package init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: tenants, keys, ledger, audit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tenant (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE api_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant_id TEXT NOT NULL REFERENCES tenant(id),
                        name TEXT NOT NULL DEFAULT '',
                        secret_sha256 BLOB NOT NULL,
                        allowed_models TEXT,
                        roles TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        revoked_at DATETIME
                    );
                    CREATE INDEX api_key_tenant ON api_key(tenant_id);
                    CREATE TABLE usage_ledger (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        request_id TEXT NOT NULL,
                        tenant_id TEXT NOT NULL,
                        key_id TEXT NOT NULL,
                        model TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        upstream_model TEXT NOT NULL,
                        prompt_tokens INTEGER NOT NULL,
                        completion_tokens INTEGER NOT NULL,
                        estimated BOOLEAN NOT NULL,
                        latency_ms INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        recorded_at DATETIME NOT NULL
                    );
                    CREATE INDEX usage_ledger_tenant_time ON usage_ledger(tenant_id, recorded_at);
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at DATETIME NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        request_id TEXT NOT NULL DEFAULT ''
                    );
                    """
            )
        }
        migrator.registerMigration("v2: one ledger row per request") { db in
            try db.execute(
                sql: """
                    DELETE FROM usage_ledger WHERE id NOT IN (SELECT MIN(id) FROM usage_ledger GROUP BY request_id);
                    CREATE UNIQUE INDEX usage_ledger_request ON usage_ledger(request_id);
                    """
            )
        }
        migrator.registerMigration("v3: audit details") { db in
            try db.execute(sql: "ALTER TABLE audit_log ADD COLUMN details TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v4: ledger costs") { db in
            try db.execute(
                sql: """
                    ALTER TABLE usage_ledger ADD COLUMN cost_micros INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE usage_ledger ADD COLUMN cost_exact BOOLEAN NOT NULL DEFAULT 0;
                    ALTER TABLE usage_ledger ADD COLUMN price_book_version TEXT NOT NULL DEFAULT '';
                    """
            )
        }
        migrator.registerMigration("v5: policies") { db in
            try db.execute(
                sql: """
                    CREATE TABLE policy (
                        scope TEXT PRIMARY KEY NOT NULL,
                        body TEXT NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v6: projects; ledger by key and project") { db in
            try db.execute(
                sql: """
                    CREATE TABLE project (
                        id TEXT PRIMARY KEY NOT NULL,
                        tenant_id TEXT NOT NULL REFERENCES tenant(id),
                        name TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        UNIQUE (tenant_id, name)
                    );
                    ALTER TABLE api_key ADD COLUMN project_id TEXT REFERENCES project(id);
                    ALTER TABLE usage_ledger ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
                    CREATE INDEX usage_ledger_key_time ON usage_ledger(key_id, recorded_at);
                    CREATE INDEX usage_ledger_project_time ON usage_ledger(project_id, recorded_at);
                    """
            )
        }
        migrator.registerMigration("v7: cached prompt tokens") { db in
            try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN cached_prompt_tokens INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }
}
