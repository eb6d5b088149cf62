import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis script")
struct RedisScriptTests {
    @Test(
        "computes the SHA1 of the source, as lowercase hex",
        arguments: [
            ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("return 1", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ]
    )
    func sha1(source: String, expected: String) {
        #expect(RedisScript(source).sha1 == expected)
    }

    @Test("reads the first word of an error reply as its code")
    func replyCode() {
        #expect(RedisError(.reply, "NOSCRIPT No matching script.").replyCode == "NOSCRIPT")
        #expect(RedisError(.reply, "WRONGTYPE Operation").replyCode == "WRONGTYPE")
        #expect(RedisError(.unavailable, "NOSCRIPT lookalike").replyCode == nil)
    }
}
