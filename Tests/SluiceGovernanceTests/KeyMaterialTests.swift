import SluiceGovernance
import Testing

@Suite("Key material")
struct KeyMaterialTests {
    private static let id = "0123456789abcdef"
    private static let secret = String(repeating: "a1b2c3", count: 8)

    @Test("generates keys shaped sk-sluice-<16 hex>-<48 hex> that parse back")
    func generateParsesBack() throws {
        // Given a generated key
        let (id, plaintext) = KeyMaterial.generate()

        // When it is parsed
        let parsed = try #require(KeyMaterial.parse(plaintext))

        // Then it has the documented shape and its id is the one returned
        #expect(plaintext.hasPrefix("sk-sluice-"))
        #expect(plaintext.count == "sk-sluice-".count + 16 + 1 + 48)
        #expect(parsed.id == id)
        #expect(parsed.id.count == 16 && parsed.secret.count == 48)
        #expect((parsed.id + parsed.secret).allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test("generates a different key every time")
    func generatesUniqueKeys() {
        // Given many generated keys
        let keys = (0..<50).map { _ in KeyMaterial.generate() }

        // Then no id or key repeats
        #expect(Set(keys.map(\.id)).count == 50)
        #expect(Set(keys.map(\.plaintext)).count == 50)
    }

    @Test("splits a well-formed key into id and secret")
    func parsesWellFormed() throws {
        // When a well-formed key is parsed
        let parsed = try #require(KeyMaterial.parse("sk-sluice-\(Self.id)-\(Self.secret)"))

        // Then its parts come back
        #expect(parsed.id == Self.id)
        #expect(parsed.secret == Self.secret)
    }

    @Test(
        "rejects anything not shaped like a Sluice key",
        arguments: [
            "",
            "sk-sluice-",
            "garbage",
            "sk-sluice-not-a-real-key",
            "sk-\(id)-\(secret)",
            "SK-SLUICE-\(id)-\(secret)",
            " sk-sluice-\(id)-\(secret)",
            "sk-sluice-\(id)\(secret)",
            "sk-sluice-\(id)-\(secret)-",
            "sk-sluice-\(id)-\(secret)-extra",
            "sk-sluice-\(id.dropLast())-\(secret)",
            "sk-sluice-\(id)0-\(secret)",
            "sk-sluice-\(id)-\(secret.dropLast())",
            "sk-sluice-\(id)-\(secret)0",
            "sk-sluice-0123456789abcdeg-\(secret)",
            "sk-sluice-\(id)-\(secret.dropLast())z",
            "sk-sluice--\(secret)",
            // Fullwidth digits and letters count as hex digits for `Character.isHexDigit`, but not in a key.
            "sk-sluice-０１２３４５６７８９ａｂｃｄｅｆ-\(secret)",
        ]
    )
    func rejectsMalformed(key: String) {
        // When a malformed key is parsed
        let parsed = KeyMaterial.parse(key)

        // Then it is rejected
        #expect(parsed == nil)
    }

    @Test("hashes secrets with SHA-256, the same secret always the same way")
    func hashesSecret() {
        // Given two secrets, one of them twice, and the test vector "abc"
        // When they are hashed
        let first = KeyMaterial.hash(secret: Self.secret)
        let again = KeyMaterial.hash(secret: Self.secret)
        let other = KeyMaterial.hash(secret: String(Self.secret.reversed()))
        let abc = KeyMaterial.hash(secret: "abc")

        // Then hashes are SHA-256: 32 bytes, stable, different between secrets, and right for the test vector
        #expect(first.count == 32)
        #expect(first == again)
        #expect(first != other)
        let abcHex = abc.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        #expect(abcHex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(
        "compares byte strings for equality",
        arguments: [
            ([UInt8](), [UInt8](), true),
            ([1, 2, 3], [1, 2, 3], true),
            ([1, 2, 3], [1, 2, 4], false),
            ([9, 2, 3], [1, 2, 3], false),
            ([1, 2, 3], [1, 2], false),
            ([], [0], false),
            ([0, 0], [0], false),
        ]
    )
    func constantTimeEquals(lhs: [UInt8], rhs: [UInt8], equal: Bool) {
        // When two byte strings are compared both ways
        let forward = KeyMaterial.constantTimeEquals(lhs, rhs)
        let backward = KeyMaterial.constantTimeEquals(rhs, lhs)

        // Then they are equal exactly when their bytes are
        #expect(forward == equal)
        #expect(backward == equal)
    }
}
