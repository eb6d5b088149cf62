/// One reply from Redis (RESP2, as hiredis 0.14 reads it).
///
/// ```swift
/// let reply = try await redis.send(["GET", "greeting"])
/// if let text = reply.string { print(text) } else if reply.isNull { print("no such key") }
/// ```
package enum RedisReply: Sendable, Hashable {
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    /// An error reply, such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    ///
    /// ``RedisClient``'s `send` and `evaluate` throw a top-level error reply as a ``RedisError/Code/reply`` error;
    /// this case appears in `pipeline` results and inside arrays.
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A bulk string: arbitrary bytes.
    case bulkString([UInt8])
    /// An array of replies.
    case array([RedisReply])
    /// The null bulk string or null array (a missing key, a timed-out blocking pop).
    case null

    // MARK: - Accessors

    /// The text of a bulk string (decoded as UTF-8, invalid bytes replaced) or of a status reply; otherwise `nil`.
    package var string: String? {
        switch self {
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// The bytes of a bulk string; otherwise `nil`.
    package var bytes: [UInt8]? {
        if case .bulkString(let bytes) = self { return bytes }
        return nil
    }

    /// The value of an integer reply; otherwise `nil`.
    package var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array reply; otherwise `nil`.
    package var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is the null reply.
    package var isNull: Bool { self == .null }
}

extension RedisReply: CustomStringConvertible {
    /// A readable form for logs and test failures: bulk strings as quoted UTF-8 when they are valid UTF-8.
    package var description: String {
        switch self {
        case .status(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulkString(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { "\"\(text)\"" } else { "<\(bytes.count) bytes>" }
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .null: "(nil)"
        }
    }
}
