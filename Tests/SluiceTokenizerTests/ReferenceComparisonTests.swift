import SluiceTokenizer
import Testing

@Suite(
    "Comparison with Python tiktoken",
    .enabled(if: TestEnvironment.runsReferenceTests, TestEnvironment.missingReferenceReason)
)
struct ReferenceComparisonTests {
    @Test("token ids equal tiktoken's on a varied corpus", .timeLimit(.minutes(1)))
    func matchesTiktoken() throws {
        // Given cl100k_base, the corpus and tiktoken's ids for it
        let encoding = try TestEnvironment.loadEncoding()
        let corpus = ReferenceCorpus.make()
        let reference = try PythonReference.encode(corpus)
        try #require(reference.ordinary.count == corpus.count)
        try #require(reference.allSpecial.count == corpus.count)

        for (index, text) in corpus.enumerated() {
            // When each text is encoded in Swift
            let ordinary = encoding.encodeOrdinary(text)
            let allSpecial = encoding.encode(text, allowedSpecial: .all)

            // Then the ids equal tiktoken's, both ordinary and with special tokens allowed
            #expect(
                ordinary == reference.ordinary[index],
                "encode_ordinary differs for corpus[\(index)] \(text.debugDescription.prefix(200))"
            )
            #expect(
                allSpecial == reference.allSpecial[index],
                "encode(allowed_special=all) differs for corpus[\(index)] \(text.debugDescription.prefix(200))"
            )
        }
    }
}
