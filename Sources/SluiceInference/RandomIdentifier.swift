import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random identifiers for requests and completions, from the kernel's generator a few kilobytes at a time.
///
/// Foundation's `UUID()` on Linux opens and reads `/dev/urandom` for every identifier, three system calls on each
/// request's path, and `SystemRandomNumberGenerator` makes one `getrandom` call per 64 bits (four per request). These
/// take their bits from a pool that one `read` of `/dev/urandom` (kept open) refills every 128 identifiers. The bits
/// are the kernel's all the same; identifiers are not secrets, and API keys are made elsewhere, straight from the
/// kernel.
///
/// ```swift
/// let requestID = RandomIdentifier.uuid()          // "019aa6f0-3c2e-7d41-9b1f-0a2d3e4f5a6b"
/// let completionID = "chatcmpl-" + RandomIdentifier.hex()  // 32 lowercase hex digits
/// ```
package enum RandomIdentifier {
    /// A time-ordered (version 7) UUID in its lowercase 8-4-4-4-12 text form: the Unix time in milliseconds, then
    /// 74 random bits (RFC 9562 §5.7).
    ///
    /// Request ids are the usage ledger's idempotency key. Ids that grow with time land next to each other in its
    /// index, so a batch of ledger rows touches a few index pages instead of one random page per row (this halved
    /// the ledger's CPU per request), and they sort by when the request arrived.
    ///
    /// - Parameter milliseconds: The Unix time in milliseconds; the current time unless a test fixes it.
    package static func uuid(milliseconds: UInt64 = unixMilliseconds()) -> String {
        var (high, low) = randomBits()
        high = (milliseconds << 16) | (high & 0x0FFF) | 0x7000  // 48-bit time, version 7, 12 random bits
        low = (low & ~(0xC0 << 56)) | (0x80 << 56)  // RFC 9562 variant: the top bits of byte 8
        return format(high, low, dashes: true)
    }

    /// The current Unix time in milliseconds.
    package static func unixMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1000 &+ UInt64(now.tv_nsec / 1_000_000)
    }

    /// 128 random bits as 32 lowercase hexadecimal digits.
    package static func hex() -> String {
        let (high, low) = randomBits()
        return format(high, low, dashes: false)
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    private static let pool = Mutex(RandomPool())

    private static func randomBits() -> (high: UInt64, low: UInt64) {
        pool.withLock { $0.pair() }
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

/// 64-bit words from the kernel's generator, drawn 2 KiB at a time.
private struct RandomPool: ~Copyable {
    private var words = [UInt64](repeating: 0, count: 256)
    private var used = 256
    /// `/dev/urandom`, opened on first use; -1 before, or if it cannot be opened.
    private var descriptor: Int32 = -1

    /// Two unused words.
    mutating func pair() -> (UInt64, UInt64) {
        if used + 2 > words.count { refill() }
        defer { used += 2 }
        return (words[used], words[used + 1])
    }

    private mutating func refill() {
        used = 0
        if descriptor < 0 { descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC) }
        let filled =
            descriptor >= 0
            && words.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let count = read(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if count > 0 {
                        offset += count
                    } else if count < 0, errno == EINTR {
                        continue
                    } else {
                        return false
                    }
                }
                return true
            }
        if !filled {
            // No /dev/urandom (a sandbox, say): one getrandom call per word instead.
            var generator = SystemRandomNumberGenerator()
            for index in words.indices { words[index] = generator.next() }
        }
    }
}
