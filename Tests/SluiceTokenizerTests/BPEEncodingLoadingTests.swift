import Foundation
import SluiceTokenizer
import Testing

@Suite("Loading a ranks file")
struct BPEEncodingLoadingTests {
    /// A complete, tiny ranks file: all 256 bytes plus two merges.
    private static let tinyRanks: String = {
        var lines = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        lines.append("\(Data("ab".utf8).base64EncodedString()) 256")
        lines.append("\(Data("abc".utf8).base64EncodedString()) 257")
        return lines.joined(separator: "\n") + "\n"
    }()

    private static func temporaryFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "sluice-ranks-\(UUID().uuidString).tiktoken")
        try Data(contents.utf8).write(to: url)
        return url
    }

    @Test("a file with the wrong hash is rejected")
    func wrongHash() throws {
        // Given a ranks file that is not the pinned cl100k_base file
        let url = try Self.temporaryFile(Self.tinyRanks)
        defer { try? FileManager.default.removeItem(at: url) }

        // When it is loaded as cl100k_base
        let error = #expect(throws: TokenizerError.self) { try BPEEncoding.load(from: url) }

        // Then loading fails with a hash mismatch that names the fix
        #expect(error?.code == .hashMismatch)
        #expect(error?.message.contains("fetch-tokenizer.sh") == true)
    }

    @Test("a missing file tells the operator to run the fetch script")
    func missingFile() throws {
        // Given an empty data directory
        let dataDirectory = FileManager.default.temporaryDirectory.appending(path: "sluice-empty-\(UUID().uuidString)")

        // When cl100k_base is loaded from it
        let error = #expect(throws: TokenizerError.self) { try TokenizerStore.cl100k(dataDirectory: dataDirectory) }

        // Then the error says the file is missing and how to get it
        #expect(error?.code == .fileNotFound)
        #expect(error?.message.contains("scripts/fetch-tokenizer.sh") == true)
    }

    @Test(
        "malformed lines are rejected with their line number",
        arguments: ["YWI= 1\nnot-base64! 2\n", "YWI=\n", "YWI= x\n", "YWI= 1 2\n", "YWI 1\n", "YW=I 1\n"]
    )
    func malformed(contents: String) throws {
        // Given a file with a malformed line
        let url = try Self.temporaryFile(contents)
        defer { try? FileManager.default.removeItem(at: url) }

        // When it is loaded without a hash check
        let error = #expect(throws: TokenizerError.self) { try BPEEncoding.load(from: url, expectedSHA256: nil) }

        // Then it is reported as malformed
        #expect(error?.code == .malformedRanks)
        #expect(error?.message.contains("line") == true)
    }

    @Test("a well-formed file loads and merges")
    func tinyFile() throws {
        // Given a small but complete ranks file
        let url = try Self.temporaryFile(Self.tinyRanks)
        defer { try? FileManager.default.removeItem(at: url) }

        // When it is loaded without a hash check
        let encoding = try BPEEncoding.load(from: url, expectedSHA256: nil)

        // Then merges apply, lowest rank and leftmost first, and decoding inverts encoding
        #expect(encoding.encodeOrdinary("abc abcab") == [257, 32, 257, 256])
        #expect(try encoding.decode([257, 32, 257, 256]) == "abc abcab")
    }

    @Test("repeated ranks and missing bytes are rejected")
    func invalidMergeableRanks() {
        // Given rank tables with a repeated rank and with a missing byte
        var allBytes = Dictionary(uniqueKeysWithValues: (0..<256).map { ([UInt8($0)], $0) })
        var repeatedRank = allBytes
        repeatedRank[Array("ab".utf8)] = 0
        allBytes[[0x41]] = nil

        // When encodings are built from them
        let errors = [repeatedRank, allBytes].map { ranks in
            #expect(throws: TokenizerError.self) {
                try BPEEncoding(name: "test", mergeableRanks: ranks, specialTokens: [:])
            }
        }

        // Then each is malformed
        #expect(errors.map { $0?.code } == [.malformedRanks, .malformedRanks])
    }
}
