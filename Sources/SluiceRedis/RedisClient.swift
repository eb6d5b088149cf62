package import Logging
import Synchronization

/// A small Redis client over Debian's hiredis: a pool of connections, each with its own OS thread, that callers
/// `await` without ever blocking a Swift concurrency thread.
///
/// ```swift
/// let redis = try RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"), logger: logger)
/// _ = try await redis.send(["SET", "greeting", "hello"])
/// let greeting = try await redis.send(["GET", "greeting"]).string            // "hello"
/// let replies = try await redis.pipeline([["INCR", "a"], ["INCR", "b"]])   // back to back, in order
/// let count = try await redis.evaluate(limiterScript, keys: ["rate:k1"], arguments: ["60000"])
/// await redis.shutdown()
/// ```
///
/// Each connection queues the calls given to it; its thread takes everything queued at once, writes all of it, and
/// then reads the replies in order, so concurrent calls are pipelined. A call goes to the connection with the fewest
/// commands waiting. Connections are made on first use; `AUTH` and `SELECT` are sent on every new connection.
///
/// Failures: a connection that breaks, is closed by Redis, or does not answer within
/// ``RedisConfiguration/commandTimeout`` fails its unanswered calls with ``RedisError/Code/unavailable`` and is
/// rebuilt by its next call. After a failed connection attempt, calls fail fast with
/// ``RedisError/Code/unavailable`` until a back-off (100 ms, doubling up to 2 s by default) has passed; the next call
/// then tries again. An outage logs one warning and the recovery one info, whatever the number of connections.
///
/// Cancelling a calling task does not withdraw a command already queued: it is sent and answered (or times out)
/// like any other, which is bounded by the timeouts.
package final class RedisClient: Sendable {
    /// The configuration the client was made with.
    package let configuration: RedisConfiguration
    private let health: RedisHealthMonitor
    private let connections: [RedisConnection]
    private let nextConnection = Atomic<UInt>(0)

    // MARK: - Lifecycle

    /// Creates a client and starts one thread per connection; connections are made on first use.
    ///
    /// Call ``shutdown()`` when done; a client released without it stops its threads without waiting for them.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - logger: Where connection losses and recoveries are logged (never a password).
    /// - Throws: ``RedisError`` with code ``RedisError/Code/invalidConfiguration`` when a setting is invalid.
    package init(configuration: RedisConfiguration, logger: Logger) throws(RedisError) {
        let problems = configuration.problems
        guard problems.isEmpty else {
            throw RedisError(.invalidConfiguration, problems.joined(separator: "; "))
        }
        var logger = logger
        logger[metadataKey: "redis.endpoint"] = "\(configuration.endpoint)"
        let health = RedisHealthMonitor(configuration: configuration, logger: logger)
        self.configuration = configuration
        self.health = health
        self.connections = (0..<configuration.connections).map {
            RedisConnection(index: $0, configuration: configuration, health: health)
        }
    }

    deinit {
        for connection in connections { connection.shutdownDetached() }
    }

    /// Stops the client: calls still queued fail with ``RedisError/Code/shutdown``, calls already being sent are
    /// answered (or time out), then the connections close and their threads are joined. Later calls fail with
    /// ``RedisError/Code/shutdown``. Idempotent; every caller returns once the threads are gone.
    package func shutdown() async {
        for connection in connections { connection.beginShutdown() }
        for connection in connections { await connection.waitForExit() }
    }

    // MARK: - Commands

    /// Sends one command and returns its reply.
    ///
    /// ```swift
    /// let count = try await redis.send(["INCR", "visits"]).integer
    /// ```
    ///
    /// - Parameter arguments: The command name and its arguments, e.g. `["SET", "key", "value"]`.
    /// - Returns: The reply (never ``RedisReply/error(_:)``).
    /// - Throws: ``RedisError``: ``RedisError/Code/reply`` when Redis answers with an error reply,
    ///   ``RedisError/Code/unavailable`` when Redis cannot be reached in time, ``RedisError/Code/shutdown``,
    ///   ``RedisError/Code/protocol``, or ``RedisError/Code/invalidCommand`` for an empty command.
    package func send(_ arguments: [String]) async throws -> RedisReply {
        try await send(arguments.map { Array($0.utf8) })
    }

    /// Sends one command with binary-safe arguments and returns its reply.
    ///
    /// ```swift
    /// _ = try await redis.send([Array("SET".utf8), Array("blob".utf8), [0x00, 0xFF, 0x0D, 0x0A]])
    /// ```
    ///
    /// - Parameter arguments: The command name and its arguments, as bytes.
    /// - Returns: The reply (never ``RedisReply/error(_:)``).
    /// - Throws: ``RedisError``, as ``send(_:)-([String])`` does.
    package func send(_ arguments: [[UInt8]]) async throws -> RedisReply {
        let reply = try await submit([arguments])[0]
        if case .error(let message) = reply { throw RedisError(.reply, message) }
        return reply
    }

    /// Sends commands back to back on one connection and returns their replies in order.
    ///
    /// An error reply to one command does not stop the others: it is returned as ``RedisReply/error(_:)`` in its
    /// place. The commands are not a transaction; wrap them in `MULTI`/`EXEC`, or use a script, for atomicity.
    ///
    /// ```swift
    /// let replies = try await redis.pipeline([["INCR", "hits"], ["PEXPIRE", "hits", "60000"]])
    /// ```
    ///
    /// - Parameter commands: The commands, each a command name and its arguments.
    /// - Returns: One reply per command, in order.
    /// - Throws: ``RedisError`` when the commands could not all be answered (``RedisError/Code/unavailable``,
    ///   ``RedisError/Code/shutdown``, ``RedisError/Code/protocol``, ``RedisError/Code/invalidCommand``).
    package func pipeline(_ commands: [[String]]) async throws -> [RedisReply] {
        try await submit(commands.map { $0.map { Array($0.utf8) } })
    }

    /// Sends commands with binary-safe arguments back to back on one connection and returns their replies in order.
    ///
    /// - Parameter commands: The commands, each a command name and its arguments, as bytes.
    /// - Returns: One reply per command, in order; error replies in place.
    /// - Throws: ``RedisError``, as ``pipeline(_:)-([[String]])`` does.
    package func pipeline(_ commands: [[[UInt8]]]) async throws -> [RedisReply] {
        try await submit(commands)
    }

    /// Runs a Lua script with `EVALSHA`, falling back to `EVAL` when Redis does not have it cached (`NOSCRIPT`,
    /// after a restart or `SCRIPT FLUSH`); `EVAL` caches it again.
    ///
    /// ```swift
    /// let count = try await redis.evaluate(incrementWithExpiry, keys: ["rate:key-1"], arguments: ["60000"])
    /// ```
    ///
    /// - Parameters:
    ///   - script: The script.
    ///   - keys: The keys the script touches (`KEYS`).
    ///   - arguments: Further arguments (`ARGV`).
    /// - Returns: The script's reply.
    /// - Throws: ``RedisError``: ``RedisError/Code/reply`` for a Lua error or an error the script returns, and
    ///   otherwise as ``send(_:)-([String])`` does.
    package func evaluate(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisReply {
        let tail = [String(keys.count)] + keys + arguments
        do {
            return try await send(["EVALSHA", script.sha1] + tail)
        } catch let error as RedisError where error.replyCode == "NOSCRIPT" {
            return try await send(["EVAL", script.source] + tail)
        }
    }

    // MARK: - Queueing

    /// The commands queued and in flight on each connection; a test seam.
    var queueDepths: [(queued: Int, inFlight: Int)] {
        connections.map { connection in
            connection.state.withLock { ($0.queuedCommands, $0.inFlightCommands) }
        }
    }

    private func submit(_ commands: [[[UInt8]]]) async throws -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        // An empty command would be sent as an empty multi-bulk, which Redis does not answer: the replies would
        // fall out of step with the commands.
        guard commands.allSatisfy({ !$0.isEmpty }) else {
            throw RedisError(.invalidCommand, "A Redis command needs at least its name")
        }
        return try await withCheckedThrowingContinuation { continuation in
            let request = RedisConnection.Request(commands: commands, continuation: continuation)
            if let error = enqueue(request) { continuation.resume(throwing: error) }
        }
    }

    /// Queues a request on the connection with the fewest commands waiting, starting the search at the next
    /// connection in turn so that ties spread; returns why not when calls fail fast or the client shut down.
    private func enqueue(_ request: RedisConnection.Request) -> RedisError? {
        if let error = health.failFastError(at: .now) { return error }
        let start = Int(nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(connections.count))
        var best: (connection: RedisConnection, load: Int)?
        for offset in 0..<connections.count {
            let connection = connections[(start + offset) % connections.count]
            guard let load = connection.load else { return RedisConnection.shutdownError }
            if best == nil || load < best!.load { best = (connection, load) }
            if load == 0 { break }
        }
        guard let best, best.connection.enqueue(request) else { return RedisConnection.shutdownError }
        return nil
    }
}
