/// The cl100k_base byte-pair encoding (GPT-4, GPT-3.5-turbo, text-embedding-3), exactly as tiktoken computes it.
///
/// Load it once from the ranks file that `scripts/fetch-tokenizer.sh` installs, then share it: it is an
/// immutable value, safe to use from any number of tasks. Text is split by ``CL100KPreTokenizer``, and each piece
/// is byte-pair merged with the rank table; the resulting ids equal tiktoken's for the same text.
///
/// ```swift
/// let encoding = try TokenizerStore.cl100k(dataDirectory: dataDirectory)
/// encoding.encodeOrdinary("hello world")                 // [15339, 1917]
/// encoding.encode("<|endoftext|>", allowedSpecial: .all) // [100257]
/// encoding.count("hello world")                          // TokenCount(tokens: 2, isEstimated: false)
/// try encoding.decode([15339, 1917])                     // "hello world"
/// ```
package struct BPEEncoding: TokenCounter {
    /// A special token: its text, UTF-8 bytes and id.
    struct SpecialToken: Sendable {
        var text: String
        var bytes: [UInt8]
        var id: Int
    }

    /// The encoding's name, such as `cl100k_base`.
    package let name: String
    let table: RankTable
    let specialTokens: [SpecialToken]

    // MARK: - Initialisers

    /// Creates an encoding from a rank table and special tokens; used by the loader and by tests.
    ///
    /// - Parameters:
    ///   - name: The encoding's name.
    ///   - table: The ranks; every single byte must be a token.
    ///   - specialTokens: Special token texts and their ids.
    init(name: String, table: RankTable, specialTokens: [String: Int]) {
        self.name = name
        self.table = table
        self.specialTokens = specialTokens.sorted { $0.value < $1.value }.map { text, id in
            SpecialToken(text: text, bytes: Array(text.utf8), id: id)
        }
    }

    // MARK: - Properties

    /// The special tokens' texts and ids, such as `"<|endoftext|>": 100257`.
    package var specialTokenIDs: [String: Int] {
        Dictionary(uniqueKeysWithValues: specialTokens.map { ($0.text, $0.id) })
    }

    /// The number of ordinary (mergeable) tokens.
    package var ordinaryTokenCount: Int {
        table.count
    }

    // MARK: - Counting

    /// Counts the tokens of `text`, treating special-token text as ordinary text.
    ///
    /// - Parameters:
    ///   - text: The text to count.
    /// - Returns: The exact count; ``TokenCount/isEstimated`` is `false`.
    package func count(_ text: String) -> TokenCount {
        TokenCount(tokens: encodeOrdinary(text).count, isEstimated: false)
    }

    // MARK: - Decoding

    /// Returns the bytes that the tokens stand for.
    ///
    /// A token may end in the middle of a UTF-8 sequence, so the bytes of a prefix of a token list need not be
    /// valid UTF-8.
    ///
    /// - Parameters:
    ///   - tokens: Token ids, ordinary or special.
    /// - Throws: ``TokenizerError`` with code ``TokenizerError/Code/unknownToken`` for an id that is not part of
    ///   the encoding.
    package func decodeBytes(_ tokens: some Sequence<Int>) throws(TokenizerError) -> [UInt8] {
        var bytes: [UInt8] = []
        for token in tokens {
            if let tokenBytes = table.bytes(ofRank: token) {
                bytes.append(contentsOf: tokenBytes)
            } else if let special = specialTokens.first(where: { $0.id == token }) {
                bytes.append(contentsOf: special.bytes)
            } else {
                throw TokenizerError(code: .unknownToken, message: "token id \(token) is not part of \(name)")
            }
        }
        return bytes
    }

    /// Returns the text that the tokens stand for, replacing invalid UTF-8 with U+FFFD like tiktoken's `decode`.
    ///
    /// - Parameters:
    ///   - tokens: Token ids, ordinary or special.
    /// - Throws: ``TokenizerError`` with code ``TokenizerError/Code/unknownToken`` for an id that is not part of
    ///   the encoding.
    package func decode(_ tokens: some Sequence<Int>) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(tokens), as: UTF8.self)
    }
}
