internal import Logging
import Synchronization

/// The ``RedisEndpointHealth`` of one client, shared by its connections, and the log lines it calls for.
final class RedisHealthMonitor: Sendable {
    private let health: Mutex<RedisEndpointHealth>
    private let endpoint: RedisConfiguration.Endpoint
    private let logger: Logger

    /// Creates the monitor of a client that has not connected yet.
    ///
    /// - Parameters:
    ///   - configuration: The endpoint and reconnect delays.
    ///   - logger: Where losses and recoveries are logged.
    init(configuration: RedisConfiguration, logger: Logger) {
        self.health = Mutex(
            RedisEndpointHealth(
                minimumDelay: configuration.minimumReconnectDelay,
                maximumDelay: configuration.maximumReconnectDelay
            )
        )
        self.endpoint = configuration.endpoint
        self.logger = logger
    }

    /// The error a call fails with now without trying, or `nil` when it may use a connection or try to make one.
    ///
    /// - Parameter now: The current time.
    /// - Returns: The ``RedisError/Code/unavailable`` error, naming the last failure and the time to the next
    ///   attempt.
    func failFastError(at now: ContinuousClock.Instant) -> RedisError? {
        guard let failFast = health.withLock({ $0.failFast(at: now) }) else { return nil }
        return Self.unavailable(
            endpoint,
            "\(failFast.reason); next connection attempt in \(failFast.retryIn.milliseconds) ms"
        )
    }

    /// A new connection was established, authenticated, and has answered.
    ///
    /// - Parameter connection: Its number, for the log line.
    func connected(connection: Int) {
        switch health.withLock({ $0.connected() }) {
        case .connected: logger.debug("Connected to Redis", metadata: ["redis.connection": "\(connection)"])
        case .recovered: logger.info("Redis is reachable again", metadata: ["redis.connection": "\(connection)"])
        case .lost, .none: break
        }
    }

    /// A connection attempt failed.
    ///
    /// - Parameters:
    ///   - reason: Why; never the password.
    ///   - connection: The connection's number, for the log line.
    func connectFailed(_ reason: String, connection: Int) {
        if health.withLock({ $0.connectFailed(reason, at: .now) }) == .lost {
            logger.warning(
                "Cannot connect to Redis; calls fail until it is reachable again",
                metadata: ["redis.reason": "\(reason)", "redis.connection": "\(connection)"]
            )
        }
    }

    /// An open connection failed and was dropped.
    ///
    /// - Parameters:
    ///   - reason: Why; never the password.
    ///   - connection: The connection's number, for the log line.
    func dropped(_ reason: String, connection: Int) {
        if health.withLock({ $0.dropped(reason) }) == .lost {
            logger.warning(
                "Redis connection lost; reconnecting",
                metadata: ["redis.reason": "\(reason)", "redis.connection": "\(connection)"]
            )
        }
    }

    /// An ``RedisError/Code/unavailable`` error naming the endpoint.
    ///
    /// - Parameters:
    ///   - endpoint: Where Redis listens.
    ///   - reason: What failed; never the password.
    /// - Returns: The error.
    static func unavailable(_ endpoint: RedisConfiguration.Endpoint, _ reason: String) -> RedisError {
        RedisError(.unavailable, "Redis at \(endpoint) is unavailable: \(reason)")
    }
}
