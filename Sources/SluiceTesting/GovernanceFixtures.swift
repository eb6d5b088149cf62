import GRDB
package import SluiceGovernance

extension GovernanceStore {
    /// A migrated governance store in memory, private to the caller.
    ///
    /// - Returns: The store.
    package static func inMemory() throws -> GovernanceStore {
        try GovernanceStore(writer: DatabaseQueue())
    }

    /// One row of the usage ledger, as tests read it back.
    package struct LedgerEntry: Sendable, Hashable {
        /// The request id.
        package var requestID: String
        /// The tenant id.
        package var tenantID: String
        /// The API key id.
        package var keyID: String
        /// The public model.
        package var model: String
        /// The provider that answered, or empty.
        package var provider: String
        /// The upstream model that answered, or empty.
        package var upstreamModel: String
        /// Prompt tokens.
        package var promptTokens: Int
        /// Completion tokens.
        package var completionTokens: Int
        /// Whether the counts were estimated.
        package var isEstimated: Bool
        /// Wall time of the call.
        package var latencyMilliseconds: Int
        /// `ok` or an error code.
        package var outcome: String
    }

    /// Reads the whole usage ledger, oldest first.
    ///
    /// - Returns: The ledger rows.
    package func ledger() async throws -> [LedgerEntry] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM usage_ledger ORDER BY id").map { row in
                LedgerEntry(
                    requestID: row["request_id"],
                    tenantID: row["tenant_id"],
                    keyID: row["key_id"],
                    model: row["model"],
                    provider: row["provider"],
                    upstreamModel: row["upstream_model"],
                    promptTokens: row["prompt_tokens"],
                    completionTokens: row["completion_tokens"],
                    isEstimated: row["estimated"],
                    latencyMilliseconds: row["latency_ms"],
                    outcome: row["outcome"]
                )
            }
        }
    }
}
