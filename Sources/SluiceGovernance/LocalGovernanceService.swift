import Foundation
import GRDB
package import Logging

/// Governance on the local SQLite store: hashed API keys with constant-time checks, per-key model allow-lists,
/// the usage ledger (each record priced from the ``PriceBook``) and the audit log.
///
/// ```swift
/// let governance = LocalGovernanceService(store: try GovernanceStore.open(dataDirectory: dataDirectory), logger: logger)
/// let created = try await governance.createKey(KeyCreationRequest(tenant: "acme", allowedModels: ["echo"]))
/// print(created.plaintext) // shown once
/// ```
package struct LocalGovernanceService: GovernanceService {
    let store: GovernanceStore
    let logger: Logger
    let keys: KeyCache<StoredKey>
    let prices: PriceBook
    let quotas: any QuotaStore
    let settings: QuotaSettings
    let quotaHealth = QuotaStoreHealth()

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - store: The governance database.
    ///   - logger: The logger; credentials never reach it.
    ///   - keyCacheTTL: How long a key's record is reused without reading the database. A key revoked by another
    ///     process stops working within this time; one revoked through this service, at once. `.zero` disables it.
    ///   - prices: The price book the ledger's costs and budget reservations come from; ``PriceBook/empty`` prices
    ///     nothing.
    ///   - quotas: Where rate limits and reservations are counted: this process by default, Redis when replicas share
    ///     them.
    ///   - settings: The settings of limits and budgets.
    package init(
        store: GovernanceStore,
        logger: Logger,
        keyCacheTTL: Duration = .seconds(1),
        prices: PriceBook = .empty,
        quotas: any QuotaStore = LocalQuotaStore(),
        settings: QuotaSettings = QuotaSettings()
    ) {
        self.store = store
        self.logger = logger
        self.keys = KeyCache(ttl: keyCacheTTL)
        self.prices = prices
        self.quotas = quotas
        self.settings = settings
    }

    // MARK: - Authorization

    /// Checks the key (constant-time hash comparison), its revocation, role, model allow-list and route override.
    package func authorize(_ request: AuthorizationRequest) async throws -> Authorization {
        guard let parsed = KeyMaterial.parse(request.credential) else {
            throw GovernanceError(.unauthenticated, "Missing or malformed API key")
        }
        let record = try await storedKey(id: parsed.id)
        // The hash is computed and compared even for unknown ids, so timing does not tell which ids exist.
        let presented = KeyMaterial.hash(secret: parsed.secret)
        let matches = KeyMaterial.constantTimeEquals(presented, record?.secretSHA256 ?? Array(repeating: 0, count: 32))
        guard let record, matches else {
            throw GovernanceError(.unauthenticated, "Incorrect API key provided")
        }
        guard !record.isRevoked else {
            throw GovernanceError(.revoked, "This API key has been revoked")
        }
        let roles = record.roles
        let effective = Policy.tightest(record.policies.map(\.policy))
        var authorization = Authorization(principal: record.principal, allowedModels: record.allowedModels)
        authorization.policyAllowLists = effective.allowLists
        if request.operation == .admin, !roles.contains(.admin) {
            throw GovernanceError(.permissionDenied, "This API key may not perform administrative calls")
        }
        if let model = request.model, !authorization.allows(model: model) {
            throw GovernanceError(.modelNotAllowed, "This API key may not use the model '\(model)'")
        }
        // A policy's switch decides route overrides; without one, the admin role does.
        if request.route != nil, !(effective.allowRouteOverride ?? roles.contains(.admin)) {
            throw GovernanceError(.routeNotAllowed, "This API key may not override routes")
        }
        try await applyQuotas(request, record: record, to: &authorization)
        return authorization
    }

    /// A key's record, from the key cache or the database.
    func storedKey(id: String) async throws -> StoredKey? {
        if let cached = keys.lookup(id) { return cached }
        let record = try await fetchKey(id: id)
        keys.store(record, for: id)
        return record
    }

    private func fetchKey(id: String) async throws -> StoredKey? {
        try await store.writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT k.id, k.tenant_id, t.name AS tenant_name, k.project_id, k.secret_sha256, k.allowed_models,
                           k.roles, k.revoked_at, pt.body AS tenant_policy, pp.body AS project_policy,
                           pk.body AS key_policy
                    FROM api_key k JOIN tenant t ON t.id = k.tenant_id
                    LEFT JOIN policy pt ON pt.scope = 'tenant:' || k.tenant_id
                    LEFT JOIN policy pp ON pp.scope = 'project:' || k.project_id
                    LEFT JOIN policy pk ON pk.scope = 'key:' || k.id
                    WHERE k.id = ?
                    """,
                arguments: [id]
            ).map(StoredKey.init(row:))
        }
    }

    // MARK: - Usage

    /// Records one call's usage; see ``recordUsage(batch:)``.
    ///
    /// - Returns: Whether the record was new, and its cost.
    @discardableResult
    package func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt {
        let inserted = try await insert([record])
        await settle(inserted)
        return UsageReceipt(recorded: !inserted.isEmpty, costMicros: inserted.first?.micros ?? 0)
    }

    /// Records several usage records in one transaction, so the ledger costs one commit per batch.
    ///
    /// Recording is idempotent per request id: a record whose request id is already in the ledger is ignored, so a
    /// retried write never counts a call twice.
    ///
    /// The transaction runs on the store's writer (GRDB's serial writer queue), never on the caller's thread.
    ///
    /// - Parameter records: The records, in the order they completed.
    package func recordUsage(batch records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        await settle(try await insert(records))
    }

    /// Inserts records the ledger does not hold yet, each priced, in one transaction; returns the new ones with their
    /// ledger row ids and costs.
    private func insert(
        _ records: [UsageRecord]
    ) async throws -> [(record: UsageRecord, ledgerID: Int64, micros: Int64)] {
        // One timestamp per batch, formatted once rather than once per row.
        let now = Date()
        let recordedAt = now.databaseValue
        let priced = records.map { Self.cost(of: $0, in: prices, at: now) }
        let version = prices.version
        return try await store.writer.write { db in
            var inserted: [(record: UsageRecord, ledgerID: Int64, micros: Int64)] = []
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO usage_ledger (request_id, tenant_id, key_id, model, provider, upstream_model,
                        prompt_tokens, completion_tokens, estimated, latency_ms, outcome, recorded_at,
                        cost_micros, cost_exact, price_book_version, project_id, cached_prompt_tokens)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for (record, cost) in zip(records, priced) {
                try statement.execute(arguments: [
                    record.requestID, record.principal.tenantID, record.principal.keyID, record.model,
                    record.provider, record.upstreamModel, record.promptTokens, record.completionTokens,
                    record.isEstimated, record.latencyMilliseconds, record.outcome, recordedAt,
                    cost.micros, cost.exact, version, record.principal.projectID ?? "", record.cachedPromptTokens ?? 0,
                ])
                if db.changesCount > 0 { inserted.append((record, db.lastInsertedRowID, cost.micros)) }
            }
            return inserted
        }
    }

    /// A record's cost in `book` at `moment`: priced by the upstream model that served it (the public model when
    /// none did), cached prompt tokens at the cached-input price; exact when the model has a price and the token
    /// counts are the provider's.
    static func cost(of record: UsageRecord, in book: PriceBook, at moment: Date) -> (micros: Int64, exact: Bool) {
        let model = record.upstreamModel.isEmpty ? record.model : record.upstreamModel
        guard let price = book.price(for: model, at: moment) ?? book.price(for: record.model, at: moment) else {
            return (0, false)
        }
        let micros = price.cost(
            promptTokens: record.promptTokens,
            completionTokens: record.completionTokens,
            cachedPromptTokens: record.cachedPromptTokens ?? 0
        )
        return (micros, !record.isEstimated)
    }

    // MARK: - Encoding

    /// A key row as authorization needs it.
    struct StoredKey: Sendable {
        var principal: Principal
        var secretSHA256: [UInt8]
        var allowedModels: [String]?
        var roles: [Role]
        var isRevoked: Bool
        /// The policies of the key's scopes that have one: the tenant's, the project's, then the key's.
        var policies: [(scope: Policy.Scope, policy: Policy)]

        init(row: Row) {
            roles = LocalGovernanceService.decodeRoles(row["roles"])
            principal = Principal(
                tenantID: row["tenant_id"],
                tenantName: row["tenant_name"],
                keyID: row["id"],
                roles: roles,
                projectID: row["project_id"]
            )
            secretSHA256 = (row["secret_sha256"] as Data?).map(Array.init) ?? []
            allowedModels = LocalGovernanceService.decodeModels(row["allowed_models"])
            isRevoked = (row["revoked_at"] as Date?) != nil
            var scopes: [(Policy.Scope, String?)] = [(.tenant(row["tenant_id"]), row["tenant_policy"])]
            if let project = row["project_id"] as String? { scopes.append((.project(project), row["project_policy"])) }
            scopes.append((.key(row["id"]), row["key_policy"]))
            policies = scopes.compactMap { scope, body in
                body.flatMap(LocalGovernanceService.decodePolicy).map { (scope, $0) }
            }
        }
    }

    /// A new random id with a prefix (`ten_`, `prj_`): 16 hex digits.
    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    static func audit(
        _ db: Database,
        actor: String,
        action: String,
        target: String,
        outcome: String,
        details: String = ""
    ) throws {
        try db.execute(
            sql: "INSERT INTO audit_log (at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [Date(), actor, action, target, outcome, details]
        )
    }

    static func encodeModels(_ models: [String]?) -> String? {
        guard let models else { return nil }
        let data = try? JSONEncoder().encode(models)
        return data.map { String(decoding: $0, as: UTF8.self) }
    }

    static func decodeModels(_ text: String?) -> [String]? {
        guard let text else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    static func encodeRoles(_ roles: [Role]) -> String {
        roles.map(\.rawValue).joined(separator: ",")
    }

    static func decodeRoles(_ text: String?) -> [Role] {
        (text ?? "").split(separator: ",").compactMap { Role(rawValue: String($0)) }
    }
}
