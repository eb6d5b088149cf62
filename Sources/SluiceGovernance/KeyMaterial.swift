import Crypto
import Foundation

/// The format, generation, hashing and comparison of API keys.
///
/// A key reads `sk-sluice-<id>-<secret>`: the id (16 hex digits) finds the stored record, the secret (48 hex
/// digits, 192 random bits) proves possession. Only the SHA-256 of the secret is stored, and it is compared in
/// constant time. A fast hash is right here: the secret is random and long, so there is nothing to brute-force.
package enum KeyMaterial {
    /// The prefix of every Sluice API key.
    package static let prefix = "sk-sluice-"

    /// A key's parts.
    package struct Parsed: Sendable, Hashable {
        /// The key id.
        package var id: String
        /// The secret part.
        package var secret: String
    }

    /// Generates a new key.
    ///
    /// - Returns: The key id and the full plaintext key.
    package static func generate() -> (id: String, plaintext: String) {
        var generator = SystemRandomNumberGenerator()
        let id = hex((0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let secret = hex((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return (id, prefix + id + "-" + secret)
    }

    /// Splits a presented key into id and secret.
    ///
    /// - Parameter key: The presented key.
    /// - Returns: Its parts, or `nil` when it is not shaped like a Sluice key.
    package static func parse(_ key: String) -> Parsed? {
        // One pass over the bytes (this runs on every request): the prefix, 16 hex digits, a dash, 48 hex digits.
        // Bytes, not Characters: `Character.isHexDigit` accepts fullwidth digits, and lengths must be in bytes.
        let utf8 = key.utf8
        guard utf8.count == prefix.utf8.count + 16 + 1 + 48, utf8.starts(with: prefix.utf8) else { return nil }
        let idStart = utf8.index(utf8.startIndex, offsetBy: prefix.utf8.count)
        let dash = utf8.index(idStart, offsetBy: 16)
        let secretStart = utf8.index(after: dash)
        func isHex(_ byte: UInt8) -> Bool {
            (48...57).contains(byte) || (97...102).contains(byte) || (65...70).contains(byte)
        }
        guard utf8[dash] == UInt8(ascii: "-"), utf8[idStart..<dash].allSatisfy(isHex),
            utf8[secretStart...].allSatisfy(isHex)
        else { return nil }
        return Parsed(id: String(Substring(utf8[idStart..<dash])), secret: String(Substring(utf8[secretStart...])))
    }

    /// The stored hash of a secret.
    ///
    /// - Parameter secret: The secret part of a key.
    /// - Returns: Its SHA-256 digest.
    package static func hash(secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// The SHA-256 of a text as lowercase hex, for cache keys that must not hold a credential.
    ///
    /// - Parameter text: The text.
    /// - Returns: 64 hex digits.
    package static func hexHash(_ text: String) -> String {
        hex(Array(SHA256.hash(data: Array(text.utf8))))
    }

    /// Compares two byte strings in time that depends only on their lengths.
    ///
    /// - Parameters:
    ///   - lhs: One byte string.
    ///   - rhs: The other.
    /// - Returns: Whether they are equal.
    package static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            result.append(digits[Int(byte >> 4)])
            result.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: result, as: UTF8.self)
    }
}
