internal import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blocking hiredis connection, used only by the one thread that owns it (so it is not `Sendable`); freed on
/// deinit.
///
/// Thin Swift over `redisConnectWithTimeout`, `redisSetTimeout`, `redisAppendCommandArgv` and `redisGetReply`
/// from Debian's hiredis 0.14. Its failures are reasons (short texts without secrets) or ``RedisError``s.
final class HiredisContext {
    /// A failure of the connection itself; after one the context must be freed.
    struct Failure: Error {
        /// ``RedisError/Code/unavailable`` or ``RedisError/Code/protocol``.
        var code: RedisError.Code
        /// What failed, e.g. `no reply within 1000 ms`, `Connection reset by peer`.
        var reason: String
    }

    private let context: UnsafeMutablePointer<redisContext>
    private let commandTimeout: Duration
    /// Whether Redis has answered on this connection yet.
    var hasAnswered = false

    /// Connects, then sets the socket's send and receive timeouts.
    ///
    /// - Parameters:
    ///   - endpoint: Where Redis listens.
    ///   - connectTimeout: How long the connection may take.
    ///   - commandTimeout: The longest wait for the socket, for each later send or receive.
    /// - Throws: ``Failure`` when the connection cannot be made.
    init(
        endpoint: RedisConfiguration.Endpoint,
        connectTimeout: Duration,
        commandTimeout: Duration
    ) throws(Failure) {
        let connected =
            switch endpoint {
            case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), timeval(connectTimeout))
            case .unixSocket(let path): redisConnectUnixWithTimeout(path, timeval(connectTimeout))
            }
        guard let connected else { throw Failure(code: .unavailable, reason: "cannot allocate a connection") }
        guard connected.pointee.err == 0 else {
            let reason = Self.errorText(connected)
            redisFree(connected)
            throw Failure(code: .unavailable, reason: reason)
        }
        guard redisSetTimeout(connected, timeval(commandTimeout)) == REDIS_OK else {
            let reason = Self.errorText(connected)
            redisFree(connected)
            throw Failure(code: .unavailable, reason: "cannot set the socket timeout: \(reason)")
        }
        context = connected
        self.commandTimeout = commandTimeout
    }

    deinit { redisFree(context) }

    // MARK: - I/O

    /// Whether the idle connection was closed or reset by Redis (or holds bytes nobody asked for) and must not be
    /// used: without a request outstanding, a readable socket means end of file, an error, or garbage.
    var isStale: Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// Appends one command to the output buffer; nothing is sent until ``readReply()``.
    ///
    /// - Parameter arguments: The command's arguments, binary-safe.
    /// - Throws: ``Failure`` when hiredis cannot buffer it (out of memory).
    func append(_ arguments: [[UInt8]]) throws(Failure) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        offsets.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(buffer.count)
            buffer.append(contentsOf: argument)
        }
        buffer.append(0)  // so the buffer is never empty and its base address never nil
        var lengths = arguments.map(\.count)
        let status = buffer.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
            return redisAppendCommandArgv(context, Int32(arguments.count), &argv, &lengths)
        }
        guard status == REDIS_OK else { throw failure() }
    }

    /// Sends what is buffered (on the first call after appending) and reads the next reply, blocking for at most
    /// the command timeout per socket wait.
    ///
    /// - Returns: The reply; an error reply is a ``RedisReply/error(_:)``, not a failure.
    /// - Throws: ``Failure`` when the connection broke, timed out or sent something unreadable.
    func readReply() throws(Failure) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK else { throw failure(errno: errno) }
        guard let raw else { throw Failure(code: .protocol, reason: "hiredis returned no reply") }
        defer { freeReplyObject(raw) }
        guard let reply = Self.convert(raw.assumingMemoryBound(to: redisReply.self)) else {
            throw Failure(code: .protocol, reason: "Redis sent a reply of an unknown type")
        }
        return reply
    }

    // MARK: - Conversions

    private static func convert(_ reply: UnsafePointer<redisReply>) -> RedisReply? {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING: return .bulkString(bytes(reply))
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                guard let element = reply.element[index], let converted = convert(element) else { return nil }
                elements.append(converted)
            }
            return .array(elements)
        default: return nil
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let start = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: reply.len))
    }

    private func failure(errno: Int32 = 0) -> Failure {
        let text = Self.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_IO where errno == EAGAIN || errno == EWOULDBLOCK:
            return Failure(code: .unavailable, reason: "no reply within \(commandTimeout.milliseconds) ms")
        case REDIS_ERR_EOF:
            return Failure(code: .unavailable, reason: "Redis closed the connection")
        case REDIS_ERR_PROTOCOL:
            return Failure(code: .protocol, reason: "Redis sent an unreadable reply (\(text))")
        default:
            return Failure(code: .unavailable, reason: text.isEmpty ? "the connection failed" : text)
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension timeval {
    /// A `timeval` for a duration (at least 1 µs, since zero would mean "no timeout" to the socket).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(seconds * 1_000_000 + attoseconds / 1_000_000_000_000, 1)
        self.init(tv_sec: .init(microseconds / 1_000_000), tv_usec: .init(microseconds % 1_000_000))
    }
}
