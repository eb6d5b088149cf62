/// Random identifiers for requests and completions, made without touching the file system.
///
/// Foundation's `UUID()` on Linux opens and reads `/dev/urandom` for every identifier, three system calls on each
/// request's path. These read the kernel's generator through `SystemRandomNumberGenerator` (`getrandom`).
///
/// ```swift
/// let requestID = RandomIdentifier.uuid()          // "3f2b8c1e-9d4a-4c6e-8b1f-0a2d3e4f5a6b"
/// let completionID = "chatcmpl-" + RandomIdentifier.hex()  // 32 lowercase hex digits
/// ```
package enum RandomIdentifier {
    /// A random (version 4) UUID in its lowercase 8-4-4-4-12 text form.
    package static func uuid() -> String {
        var (high, low) = randomBits()
        high = (high & ~0xF000) | 0x4000  // version 4: the high nibble of byte 6
        low = (low & ~(0xC0 << 56)) | (0x80 << 56)  // RFC 9562 variant: the top bits of byte 8
        return format(high, low, dashes: true)
    }

    /// 128 random bits as 32 lowercase hexadecimal digits.
    package static func hex() -> String {
        let (high, low) = randomBits()
        return format(high, low, dashes: false)
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func randomBits() -> (high: UInt64, low: UInt64) {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }

    /// The 32 hex digits of `high` then `low`, with dashes after the 8th, 12th, 16th and 20th when asked.
    private static func format(_ high: UInt64, _ low: UInt64, dashes: Bool) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var count = 0
            for nibble in 0..<32 {
                if dashes, nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[count] = UInt8(ascii: "-")
                    count += 1
                }
                let word = nibble < 16 ? high : low
                buffer[count] = digits[Int(truncatingIfNeeded: (word >> UInt64((15 - nibble % 16) * 4)) & 0xF)]
                count += 1
            }
            return count
        }
    }
}
