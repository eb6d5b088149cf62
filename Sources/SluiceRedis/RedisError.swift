/// An error of ``RedisClient`` or ``RedisConfiguration``, with a stable, extensible code.
///
/// Messages name the endpoint and what went wrong; they never carry the password. Callers decide on the code:
///
/// ```swift
/// do {
///     _ = try await redis.send(["INCR", "counter"])
/// } catch let error as RedisError where error.code == .unavailable {
///     // Redis is unreachable: fall back, or fail closed.
/// }
/// ```
package struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package var code: Code
    /// A readable explanation, safe to log: it never contains the password.
    package var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: A readable explanation; it must not contain secrets.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A readable form, for logs and error messages.
    package var description: String { "\(code): \(message)" }

    /// For a ``Code/reply`` error, the first word of Redis's error reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`, …).
    package var replyCode: Substring? {
        guard code == .reply else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    /// The kind of a ``RedisError``.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable text form.
        package let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// A readable form, for logs and error messages.
        package var description: String { rawValue }

        /// Redis cannot be used right now: it refused or dropped the connection, did not answer within the timeout,
        /// rejected the credentials, or a reconnect is backing off. Treat Redis as unreachable; the client
        /// reconnects on its own.
        package static let unavailable = Code("unavailable")
        /// Redis answered the command with an error reply (`WRONGTYPE`, a Lua error, …); ``RedisError/message`` is
        /// the reply. The connection is fine.
        package static let reply = Code("reply")
        /// The client was shut down before the command completed.
        package static let shutdown = Code("shutdown")
        /// Redis sent something the client cannot read; the connection was dropped.
        package static let `protocol` = Code("protocol")
        /// The command cannot be sent as given (it has no name); nothing was sent.
        package static let invalidCommand = Code("invalid_command")
        /// A Redis URL or setting is malformed; the message names what is wrong.
        package static let invalidConfiguration = Code("invalid_configuration")
    }
}
