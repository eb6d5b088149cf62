/// Where and how a ``RedisClient`` connects to Redis.
///
/// Built from a URL, then adjusted:
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://:s3cret@10.0.0.5:6379/2")
/// configuration.connections = 4
/// let redis = try RedisClient(configuration: configuration, logger: logger)
/// ```
///
/// URL forms (see ``init(url:)``):
/// - `redis://host[:port][/db]`, `redis://:password@host[:port][/db]`, `redis://user:password@host[:port][/db]`;
///   the port defaults to 6379 and the database to 0; an IPv6 address goes in brackets (`redis://[::1]:6379`).
/// - `unix:///path/to/redis.sock`, `unix://:password@/path/to/redis.sock?db=2`.
///
/// Reserved characters in a user name or password (`@ : / ? # %` and spaces) must be percent-encoded.
///
/// The password never appears in ``description``, ``debugDescription``, a `Mirror` of the configuration, log lines
/// or errors.
package struct RedisConfiguration: Sendable, Hashable {
    /// Where Redis listens.
    package enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// A TCP host name or IP address and port.
        case tcp(host: String, port: Int)
        /// A Unix domain socket path.
        case unixSocket(path: String)

        /// `host:port` (`[v6]:port` for an IPv6 address) or `unix:path`, for logs and errors.
        package var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unixSocket(let path): "unix:\(path)"
            }
        }
    }

    /// Where Redis listens; `127.0.0.1:6379` by default.
    package var endpoint: Endpoint
    /// The ACL user for `AUTH`; `nil` authenticates as the default user (or not at all without a password).
    package var username: String?
    /// The password for `AUTH`, sent on every new connection; `nil` sends no `AUTH`. Never logged.
    package var password: String?
    /// The logical database, selected with `SELECT` on every new connection when it is not 0.
    package var database: Int
    /// How many connections (each with its own thread) the client keeps; 2 by default.
    package var connections: Int
    /// How long establishing a connection may take; 1 s by default.
    package var connectTimeout: Duration
    /// How long a command may wait for its reply (more exactly: the longest wait for the socket to accept or
    /// deliver bytes); 1 s by default. A command that times out fails with ``RedisError/Code/unavailable`` and its
    /// connection is rebuilt.
    package var commandTimeout: Duration
    /// How long calls fail fast after a failed connection attempt before the next attempt; 100 ms by default,
    /// doubling after each further failure up to ``maximumReconnectDelay``.
    package var minimumReconnectDelay: Duration
    /// The longest wait between connection attempts while Redis is unreachable; 2 s by default.
    package var maximumReconnectDelay: Duration

    // MARK: - Initialisers

    /// Creates a configuration; every setting has a default.
    ///
    /// - Parameters:
    ///   - endpoint: Where Redis listens.
    ///   - username: The ACL user for `AUTH`, if any.
    ///   - password: The password for `AUTH`, if any.
    ///   - database: The logical database.
    ///   - connections: How many connections to keep.
    ///   - connectTimeout: How long establishing a connection may take.
    ///   - commandTimeout: How long a command may wait for its reply.
    ///   - minimumReconnectDelay: The first wait after a failed connection attempt.
    ///   - maximumReconnectDelay: The longest wait between connection attempts.
    package init(
        endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 6379),
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connections: Int = 2,
        connectTimeout: Duration = .seconds(1),
        commandTimeout: Duration = .seconds(1),
        minimumReconnectDelay: Duration = .milliseconds(100),
        maximumReconnectDelay: Duration = .seconds(2)
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connections = connections
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.minimumReconnectDelay = minimumReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
    }

    /// The defaults: `127.0.0.1:6379`, database 0, no password, 2 connections, 1 s timeouts.
    package static var defaults: Self { Self() }

    /// The defaults, adjusted.
    ///
    /// - Parameter configure: Changes to make to the defaults.
    /// - Returns: The adjusted configuration.
    package static func defaults(configure: (inout Self) -> Void) -> Self {
        var configuration = Self()
        configure(&configuration)
        return configuration
    }

    // MARK: - Validation

    /// The problems with these settings, empty when they are valid.
    package var problems: [String] {
        var problems: [String] = []
        if connections < 1 { problems.append("the number of Redis connections must be at least 1") }
        if database < 0 { problems.append("the Redis database number must not be negative") }
        if connectTimeout <= .zero { problems.append("the Redis connect timeout must be positive") }
        if commandTimeout <= .zero { problems.append("the Redis command timeout must be positive") }
        if minimumReconnectDelay <= .zero || maximumReconnectDelay < minimumReconnectDelay {
            problems.append("the Redis reconnect delays must be positive, the maximum at least the minimum")
        }
        switch endpoint {
        case .tcp(let host, let port):
            if host.isEmpty { problems.append("the Redis host must not be empty") }
            if !(1...65_535).contains(port) { problems.append("the Redis port must be a number from 1 to 65535") }
        case .unixSocket(let path):
            if path.isEmpty { problems.append("the Redis socket path must not be empty") }
        }
        if username != nil && password == nil { problems.append("a Redis user name needs a password") }
        return problems
    }
}

// MARK: - Redacted descriptions

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The configuration as a URL with the password replaced by `***`, e.g. `redis://:***@10.0.0.5:6379/2`.
    package var description: String {
        let credentials =
            switch (username, password) {
            case (let user?, _?): "\(user):***@"
            case (nil, _?): ":***@"
            case (_, nil): ""
            }
        switch endpoint {
        case .tcp:
            return "redis://\(credentials)\(endpoint)" + (database == 0 ? "" : "/\(database)")
        case .unixSocket(let path):
            return "unix://\(credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// ``description`` plus the pool size and timeouts; still without the password.
    package var debugDescription: String {
        "\(description) (connections: \(connections), connect timeout: \(connectTimeout), command timeout: "
            + "\(commandTimeout), reconnect delay: \(minimumReconnectDelay)...\(maximumReconnectDelay))"
    }

    /// A mirror without the password, so `dump` and `String(reflecting:)` cannot print it.
    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoint": endpoint, "username": username as Any,
                "password": password == nil ? "nil" : "***", "database": database, "connections": connections,
                "connectTimeout": connectTimeout, "commandTimeout": commandTimeout,
                "minimumReconnectDelay": minimumReconnectDelay, "maximumReconnectDelay": maximumReconnectDelay,
            ],
            displayStyle: .struct
        )
    }
}
