internal import Crypto

/// A Lua script for ``RedisClient/evaluate(_:keys:arguments:)``: its source and the SHA1 Redis knows it by.
///
/// Make scripts once (as `static let`s) and reuse them; the client sends `EVALSHA` and falls back to `EVAL` only
/// when Redis does not have the script cached (after a restart or `SCRIPT FLUSH`).
///
/// ```swift
/// static let incrementWithExpiry = RedisScript(
///     """
///     local count = redis.call('INCR', KEYS[1])
///     if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
///     return count
///     """
/// )
/// ```
package struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    package let source: String
    /// The SHA1 of the source's UTF-8 bytes, 40 lowercase hexadecimal digits, as `SCRIPT LOAD` answers it.
    package let sha1: String

    /// Creates a script and computes its SHA1.
    ///
    /// - Parameter source: The Lua source.
    package init(_ source: String) {
        self.source = source
        let digest = Insecure.SHA1.hash(data: Array(source.utf8))
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(40)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        self.sha1 = String(decoding: hex, as: UTF8.self)
    }
}
