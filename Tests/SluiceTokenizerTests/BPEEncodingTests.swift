import SluiceTesting
import SluiceTokenizer
import Testing

@Suite("cl100k_base encoding", .enabled(if: TestEnvironment.runsRanksTests, TestEnvironment.missingRanksReason))
struct BPEEncodingTests {
    @Test("encodes known texts to tiktoken's ids")
    func knownIDs() throws {
        // Given cl100k_base
        let encoding = try TestEnvironment.loadEncoding()

        // When known texts are encoded
        let hello = encoding.encodeOrdinary("hello world")
        let trailing = encoding.encodeOrdinary("hello  world\n\n  ")

        // Then the ids are tiktoken's
        #expect(hello == [15339, 1917])
        #expect(trailing == [15339, 220, 1917, 271, 256])
        #expect(encoding.count("hello world") == TokenCount(tokens: 2, isEstimated: false))
    }

    @Test("maps allowed special tokens to their ids")
    func specialTokens() throws {
        // Given cl100k_base and text with every special token
        let encoding = try TestEnvironment.loadEncoding()
        let text = "<|endoftext|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>"

        // When the text is encoded with all, some and no special tokens allowed
        let all = encoding.encode(text, allowedSpecial: .all)
        let some = encoding.encode("a<|endoftext|>", allowedSpecial: .only(["<|fim_prefix|>"]))
        let none = encoding.encode("a<|endoftext|>", allowedSpecial: .none)

        // Then allowed ones become single ids and the rest is ordinary text
        #expect(all == [100_257, 100_258, 100_259, 100_260, 100_276])
        #expect(some == encoding.encodeOrdinary("a<|endoftext|>"))
        #expect(none == some)
        #expect(some.count > 2)
        #expect(encoding.specialTokenIDs == BPEEncoding.cl100kBaseSpecialTokens)
    }

    @Test("decoding inverts encoding")
    func roundTrip() throws {
        // Given cl100k_base and the reference corpus
        let encoding = try TestEnvironment.loadEncoding()

        for text in ReferenceCorpus.make() {
            // When a text is encoded and decoded, with and without special tokens
            let ordinary = try encoding.decodeBytes(encoding.encodeOrdinary(text))
            let special = try encoding.decodeBytes(encoding.encode(text, allowedSpecial: .all))

            // Then the bytes come back
            #expect(ordinary == Array(text.utf8))
            #expect(special == Array(text.utf8))
        }
    }

    @Test("an unknown token id cannot be decoded")
    func unknownToken() throws {
        // Given cl100k_base
        let encoding = try TestEnvironment.loadEncoding()

        // When ids outside the vocabulary are decoded
        let error = #expect(throws: TokenizerError.self) { try encoding.decode([15339, 100_261]) }

        // Then decoding fails
        #expect(error?.code == .unknownToken)
    }

    @Test("heap and scan merges agree")
    func mergeStrategiesAgree() throws {
        // Given cl100k_base and random single pieces, long and short
        let encoding = try TestEnvironment.loadEncoding()
        var rng = SplitMix64(seed: 42)
        let alphabets = ["abcdefghij", "aaaab", "中文字符很长没有空格ありが", " ", "=-", "é\u{301}😀"].map { Array($0) }
        let pieces: [[UInt8]] = (0..<300).map { index in
            let alphabet = alphabets[index % alphabets.count]
            let length = Int.random(in: 2...(index.isMultiple(of: 3) ? 400 : 40), using: &rng)
            return Array(String((0..<length).map { _ in alphabet.randomElement(using: &rng)! }).utf8)
        }

        for piece in pieces {
            // When each is merged both ways
            let scanned = encoding.encodeSinglePiece(piece, strategy: .scan)
            let heaped = encoding.encodeSinglePiece(piece, strategy: .heap)

            // Then the tokens are the same
            #expect(scanned == heaped)
        }
    }
}
