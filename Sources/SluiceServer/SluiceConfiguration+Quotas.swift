package import Logging
package import SluiceGovernance

extension SluiceConfiguration {
    /// The settings of limits and budgets, from `governance.limits`.
    package var quotaSettings: QuotaSettings {
        QuotaSettings(
            estimatedCompletionTokens: governance.limits.estimatedCompletionTokens,
            completionTokenCap: governance.limits.completionTokenCap,
            reservationTimeout: .seconds(governance.limits.reservationTimeoutSeconds),
            failOpen: governance.limits.failOpen
        )
    }

    /// Where governance counts limits and reservations: Redis when `redis.url` is set, else this process.
    ///
    /// - Parameter logger: The logger of the Redis client.
    /// - Returns: The store.
    package func makeQuotaStore(logger: Logger) throws -> any QuotaStore {
        LocalQuotaStore()
    }
}

extension SluiceConfiguration.Redis {
    /// Problems with the values, naming their keys.
    var problems: [String] {
        var problems: [String] = []
        if url != nil { problems.append("redis.url: the Redis limit store is not available in this build yet") }
        if connections < 1 || connections > 64 { problems.append("redis.connections must be between 1 and 64") }
        if connectTimeoutMs < 1 || commandTimeoutMs < 1 {
            problems.append("redis.connect_timeout_ms and redis.command_timeout_ms must be positive")
        }
        return problems
    }
}
