extension RedisConfiguration {
    /// Reads the endpoint, credentials and database from a Redis URL; the other settings keep their defaults.
    ///
    /// Accepted forms:
    /// - `redis://host[:port][/db]`: TCP; the port defaults to 6379 and the database to 0.
    /// - `redis://:password@host[:port][/db]` and `redis://user:password@host[:port][/db]`: with `AUTH`.
    /// - `redis://[::1]:6379`: an IPv6 address, in brackets.
    /// - `unix:///path/to/redis.sock`, `unix://[user]:password@/path/to/redis.sock?db=2`: a Unix domain socket.
    ///
    /// Reserved characters in the user name or password (`@ : / ? # %` and spaces) must be percent-encoded
    /// (`%40` for `@`). TLS (`rediss://`) is not supported.
    ///
    /// ```swift
    /// let configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:6379/1")
    /// ```
    ///
    /// - Parameter url: The URL.
    /// - Throws: ``RedisError`` with code ``RedisError/Code/invalidConfiguration`` naming what is wrong; the
    ///   message never repeats parts of the URL, so it cannot leak the password.
    package init(url: String) throws(RedisError) {
        self.init()
        try RedisURLParser.parse(url, into: &self)
    }
}

/// The parser behind ``RedisConfiguration/init(url:)``.
private enum RedisURLParser {
    static func parse(_ url: String, into configuration: inout RedisConfiguration) throws(RedisError) {
        guard !url.isEmpty else { throw invalid("is empty") }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw invalid("contains spaces or control characters")
        }
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw invalid("has no scheme; expected redis://host:port or unix:///path/to/socket")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = url[schemeEnd.upperBound...]
        guard !rest.contains("#") else { throw invalid("has a fragment (#…), which is not allowed") }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        // A user name or password cannot contain "/" unencoded, so the first "/" ends the authority.
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        let path = rest[slash...]
        if let at = authority.lastIndex(of: "@") {
            try readCredentials(authority[..<at], into: &configuration)
            authority = authority[authority.index(after: at)...]
        }
        switch scheme {
        case "redis":
            configuration.endpoint = try readHostAndPort(authority)
            configuration.database = try readDatabase(path: path)
            if query != nil { throw invalid("has a query (?…); write the database as a path, e.g. /2") }
        case "unix":
            guard authority.isEmpty else {
                throw invalid("must name the socket path after unix://, e.g. unix:///run/redis/redis.sock")
            }
            guard path.count > 1 else { throw invalid("has no socket path, e.g. unix:///run/redis/redis.sock") }
            configuration.endpoint = .unixSocket(path: try percentDecoded(path, part: "socket path"))
            configuration.database = try readDatabase(query: query)
        case "rediss":
            throw invalid("uses rediss:// (TLS), which this client does not support")
        default:
            throw invalid("has an unsupported scheme; expected redis:// or unix://")
        }
    }

    private static func readCredentials(
        _ userinfo: Substring,
        into configuration: inout RedisConfiguration
    ) throws(RedisError) {
        guard let colon = userinfo.firstIndex(of: ":") else {
            throw invalid(
                "has a user name but no password; write redis://:password@host or redis://user:password@host"
            )
        }
        let user = try percentDecoded(userinfo[..<colon], part: "user name")
        let password = try percentDecoded(userinfo[userinfo.index(after: colon)...], part: "password")
        guard !password.isEmpty else { throw invalid("has an empty password") }
        configuration.username = user.isEmpty ? nil : user
        configuration.password = password
    }

    private static func readHostAndPort(_ authority: Substring) throws(RedisError) -> RedisConfiguration.Endpoint {
        var host: Substring
        var port: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("has an unclosed IPv6 bracket") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw invalid("has characters after the IPv6 address") }
                port = after.dropFirst()
            }
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw invalid("has an invalid IPv6 address in brackets")
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw invalid("has more than one port separator; put IPv6 in brackets") }
            host = parts[0]
            port = parts.count == 2 ? parts[1] : nil
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw invalid("has characters that are not allowed in a host name")
            }
        }
        guard !host.isEmpty else { throw invalid("has no host") }
        var portNumber = 6379
        if let port {
            guard port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port), (1...65_535).contains(number)
            else {
                throw invalid("has a port that is not a number from 1 to 65535")
            }
            portNumber = number
        }
        return .tcp(host: String(host), port: portNumber)
    }

    private static func readDatabase(path: Substring) throws(RedisError) -> Int {
        guard path.count > 1 else { return 0 }
        return try database(path.dropFirst())
    }

    private static func readDatabase(query: Substring?) throws(RedisError) -> Int {
        guard let query else { return 0 }
        guard query.hasPrefix("db="), !query.contains("&") else {
            throw invalid("has a query other than ?db=N")
        }
        return try database(query.dropFirst(3))
    }

    private static func database(_ text: Substring) throws(RedisError) -> Int {
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int32(text) else {
            throw invalid("has a database that is not a number from 0 to 2147483647, e.g. /2")
        }
        return Int(number)
    }

    private static func percentDecoded(_ text: Substring, part: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("has an invalid percent-escape in its \(part)")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw invalid("has a \(part) that is not UTF-8 once percent-decoded")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func invalid(_ problem: String) -> RedisError {
        RedisError(.invalidConfiguration, "The Redis URL \(problem)")
    }
}
