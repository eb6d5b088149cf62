import Foundation
package import Logging
package import SluiceGovernance
import SluiceGovernanceRedis
import SluiceRedis

extension SluiceConfiguration {
    /// Opens the governance database: `governance.database`, or `governance.sqlite` in the data directory.
    package func openGovernanceStore() throws -> GovernanceStore {
        if let path = governance.database { return try GovernanceStore.open(path: path) }
        return try GovernanceStore.open(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true))
    }

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
    /// The Redis client connects lazily and lives as long as the process: a Redis that is down at start-up is an
    /// outage like any other (limited calls refused until it answers), not a reason not to start.
    ///
    /// - Parameter logger: The logger of the Redis client.
    /// - Returns: The store.
    /// - Throws: A message naming `redis.url` when it cannot be used.
    package func makeQuotaStore(logger: Logger) throws -> any QuotaStore {
        guard let configuration = try redis.clientConfiguration() else { return LocalQuotaStore() }
        let client = try RedisClient(configuration: configuration, logger: logger)
        return RedisQuotaStore(client: client, logger: logger)
    }
}

extension SluiceConfiguration.Redis {
    /// The client's configuration, `nil` without `url`.
    ///
    /// - Throws: ``SluiceConfiguration/Invalid`` naming what is wrong, never the password.
    func clientConfiguration() throws -> RedisConfiguration? {
        guard let url else { return nil }
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw SluiceConfiguration.Invalid(problems: ["redis.url: \(error.message)"])
        }
        configuration.connections = connections
        configuration.connectTimeout = .milliseconds(connectTimeoutMs)
        configuration.commandTimeout = .milliseconds(commandTimeoutMs)
        let problems = configuration.problems.map { "redis: \($0)" }
        guard problems.isEmpty else { throw SluiceConfiguration.Invalid(problems: problems) }
        return configuration
    }

    /// Problems with the values, naming their keys.
    var problems: [String] {
        var problems: [String] = []
        if connections < 1 || connections > 64 { problems.append("redis.connections must be between 1 and 64") }
        if connectTimeoutMs < 1 || commandTimeoutMs < 1 {
            problems.append("redis.connect_timeout_ms and redis.command_timeout_ms must be positive")
        }
        guard problems.isEmpty else { return problems }
        do {
            _ = try clientConfiguration()
        } catch let invalid as SluiceConfiguration.Invalid {
            problems += invalid.problems
        } catch {
            problems.append("redis.url: \(error)")
        }
        return problems
    }
}
