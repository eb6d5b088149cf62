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
        var bytes = randomBytes()
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return format(bytes, dashes: true)
    }

    /// 128 random bits as 32 lowercase hexadecimal digits.
    package static func hex() -> String {
        format(randomBytes(), dashes: false)
    }

    private static func randomBytes() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next()
        let low = generator.next()
        return (0..<16).map { index in
            UInt8(truncatingIfNeeded: (index < 8 ? high : low) >> (UInt64(7 - index % 8) * 8))
        }
    }

    private static func format(_ bytes: [UInt8], dashes: Bool) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var count = 0
            for (index, byte) in bytes.enumerated() {
                if dashes, index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[count] = UInt8(ascii: "-")
                    count += 1
                }
                buffer[count] = digits[Int(byte >> 4)]
                buffer[count + 1] = digits[Int(byte & 0x0f)]
                count += 2
            }
            return count
        }
    }
}
