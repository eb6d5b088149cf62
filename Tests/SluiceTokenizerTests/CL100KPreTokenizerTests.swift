import SluiceTokenizer
import Testing

@Suite("cl100k_base pre-tokenizer")
struct CL100KPreTokenizerTests {
    @Test(
        "splits like tiktoken's pattern",
        arguments: [
            // Contractions, any case, only after an apostrophe that starts a piece
            ("it's", ["it", "'s"]),
            ("I'LL DON'T we'Ve", ["I", "'LL", " DON", "'T", " we", "'Ve"]),
            ("'s'S'ſ", ["'s", "'S", "'ſ"]),
            (" 's", [" '", "s"]),
            ("'x", ["'x"]),
            ("'lx", ["'lx"]),
            // Letters take one leading non-letter, non-digit, non-line-break scalar
            ("hello world", ["hello", " world"]),
            ("(hello)", ["(hello", ")"]),
            ("\thello", ["\thello"]),
            ("\nhello", ["\n", "hello"]),
            ("1st", ["1", "st"]),
            // Numbers in runs of at most three
            ("1234567", ["123", "456", "7"]),
            ("x 12345", ["x", " ", "123", "45"]),
            ("١٢٣٤", ["١٢٣", "٤"]),
            // Punctuation with at most one leading space and its trailing line breaks
            ("a !!!\n\nb", ["a", " !!!\n\n", "b"]),
            ("  !!", [" ", " !!"]),
            // Whitespace runs: the last space goes with the next word
            ("a   b", ["a", "  ", " b"]),
            ("a \tb", ["a", " ", "\tb"]),
            ("a \n b", ["a", " \n", " b"]),
            ("a\n\n\nb", ["a", "\n\n\n", "b"]),
            ("a\r\n\r\nb", ["a", "\r\n\r\n", "b"]),
            ("a\n  \n  b", ["a", "\n  \n", " ", " b"]),
            ("a \u{A0}b", ["a", " ", "\u{A0}b"]),
            // At the end, a whitespace run is one piece, line breaks or not
            ("a   ", ["a", "   "]),
            ("a \n \n ", ["a", " \n \n "]),
            // Marks and symbols are neither letters nor numbers
            ("e\u{301}t\u{301}", ["e", "\u{301}t", "\u{301}"]),
            ("👍🏽 ok", ["👍🏽", " ok"]),
            ("中文 字", ["中文", " 字"]),
        ]
    )
    func splits(text: String, expected: [String]) {
        // Given a text

        // When it is split
        let pieces = CL100KPreTokenizer.pieces(of: text)

        // Then the pieces are the hand-checked ones
        #expect(pieces == expected)
    }

    @Test("pieces join back to the input")
    func piecesCoverInput() {
        // Given the reference corpus
        let corpus = ReferenceCorpus.make()

        for text in corpus {
            // When each text is split
            let pieces = CL100KPreTokenizer.pieces(of: text)

            // Then no scalar is lost or added, and there are no empty pieces
            #expect(Array(pieces.joined().unicodeScalars) == Array(text.unicodeScalars))
            #expect(!pieces.contains(""))
        }
    }
}
