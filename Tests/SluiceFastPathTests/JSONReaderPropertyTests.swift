import Foundation
import SluiceTesting
import Testing

@testable import SluiceFastPath

@Suite("JSONReader against JSONSerialization")
struct JSONReaderPropertyTests {
    private static let documentCount = 400
    private static let mutationsPerDocument = 40

    /// Whether JSONReader reads `bytes` as one whole document.
    private static func readerAccepts(_ bytes: [UInt8]) -> Bool {
        var reader = JSONReader(bytes)
        return (try? reader.skipValue()) != nil && (try? reader.finish()) != nil
    }

    /// Whether JSONReader reads `bytes` as one document with every number in `Double`'s range.
    private static func readerReadsNumbers(_ bytes: [UInt8]) -> Bool {
        var reader = JSONReader(bytes)
        return (try? JSONTree.read(&reader)) != nil && (try? reader.finish()) != nil
    }

    /// Whether Foundation parses `bytes`, top-level scalars allowed.
    private static func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil
    }

    /// `bytes` without commas that directly precede a closing bracket (outside strings).
    private static func removingTrailingCommas(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var inString = false
        var escaped = false
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: ",") {
                let next = bytes[(index + 1)...].first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
                if next == UInt8(ascii: "]") || next == UInt8(ascii: "}") { continue }
            }
            result.append(byte)
        }
        return result
    }

    /// Printable text for a document that may not be UTF-8.
    private static func show(_ bytes: [UInt8]) -> String {
        bytes.map { $0 < 0x20 || $0 >= 0x7F ? "<\(String($0, radix: 16))>" : String(UnicodeScalar($0)) }.joined()
    }

    /// Random documents as JSONSerialization writes them.
    private static func documents(seed: UInt64) throws -> [(tree: JSONTree, bytes: [UInt8])] {
        var generator = RandomJSON(random: SplitMix64(seed: seed))
        return try (0..<documentCount).map { _ in
            let tree = generator.value()
            let data = try JSONSerialization.data(withJSONObject: tree.foundationObject, options: .fragmentsAllowed)
            return (tree, Array(data))
        }
    }

    @Test("reads every document JSONSerialization writes, to the same value")
    func readsFoundationOutput() throws {
        // Given a few hundred random documents serialized by Foundation
        let documents = try Self.documents(seed: 0x5EED_0001)

        for (tree, bytes) in documents {
            // When each is skipped, and read into a tree
            var skipper = JSONReader(bytes)
            try skipper.skipValue()
            try skipper.finish()
            var reader = JSONReader(bytes)
            let read = try JSONTree.read(&reader)
            try reader.finish()

            // Then it is accepted and holds the generated value
            #expect(read.matches(tree), "\(Self.show(bytes))")
        }
    }

    @Test("accepts a document with one byte deleted or inserted exactly when JSONSerialization does")
    func mutations() throws {
        // Given random documents and a generator for the mutations
        let documents = try Self.documents(seed: 0x5EED_0002)
        var random = SplitMix64(seed: 0x5EED_0003)
        let structural = Array(#"{}[],:"\ -+.0123456789eEtrufalsn'/"#.utf8)
        let awkward: [UInt8] = [0x00, 0x09, 0x0A, 0x0C, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var trailingCommas: [[UInt8]] = []
        var utf16: [[UInt8]] = []
        var outOfRange: [[UInt8]] = []
        var unexplained: [String] = []
        var agreed = 0

        for (_, bytes) in documents {
            for _ in 0..<Self.mutationsPerDocument {
                // When one byte is deleted, or one inserted (structural and awkward bytes favoured)
                var mutated = bytes
                if !mutated.isEmpty, Bool.random(using: &random) {
                    mutated.remove(at: Int.random(in: 0..<mutated.count, using: &random))
                } else {
                    let byte =
                        switch Int.random(in: 0..<3, using: &random) {
                        case 0: structural[Int.random(in: 0..<structural.count, using: &random)]
                        case 1: awkward[Int.random(in: 0..<awkward.count, using: &random)]
                        default: UInt8.random(in: 0...255, using: &random)
                        }
                    mutated.insert(byte, at: Int.random(in: 0...mutated.count, using: &random))
                }
                let reader = Self.readerAccepts(mutated)
                let foundation = Self.foundationAccepts(mutated)

                // Then they agree, or disagree for one of the known reasons
                switch (reader, foundation) {
                case (true, true), (false, false):
                    agreed += 1
                case (false, true) where Self.readerAccepts(Self.removingTrailingCommas(mutated)):
                    // Foundation accepts trailing commas; RFC 8259 does not (see `foundationTrailingCommas`).
                    trailingCommas.append(mutated)
                case (false, true) where mutated.contains(0) && mutated.count.isMultiple(of: 2):
                    // Foundation reads a short document with a NUL byte as UTF-16 (see `foundationUTF16`).
                    utf16.append(mutated)
                case (true, false) where !Self.readerReadsNumbers(mutated):
                    // A number beyond Double's range, which skipValue passes over (see `outOfRangeNumbers`).
                    outOfRange.append(mutated)
                default:
                    unexplained.append("reader \(reader), JSONSerialization \(foundation): \(Self.show(mutated))")
                }
            }
        }

        #expect(unexplained.isEmpty, "\(unexplained.joined(separator: "\n"))")
        let total = documents.count * Self.mutationsPerDocument
        #expect(agreed + trailingCommas.count + utf16.count + outOfRange.count + unexplained.count == total)
        #expect(agreed > total * 9 / 10, "most mutations should be judged alike, not explained away")
        #expect(outOfRange.isEmpty, "for example \(outOfRange.prefix(3).map(Self.show))")
    }

    // MARK: - Known differences

    @Test("JSONSerialization accepts trailing commas, which the reader refuses as RFC 8259 requires")
    func foundationTrailingCommas() {
        for document in ["[1,]", #"{"a":1,}"#, "[[],]"] {
            // Given a document with a trailing comma
            let bytes = Array(document.utf8)

            // When both parse it
            // Then only Foundation accepts it
            #expect(Self.foundationAccepts(bytes), "\(document)")
            #expect(!Self.readerAccepts(bytes), "\(document)")
        }
    }

    @Test("JSONSerialization reads a two-byte document with a NUL as UTF-16; the reader refuses NUL bytes")
    func foundationUTF16() {
        for bytes: [UInt8] in [[0x31, 0x00], [0x00, 0x31]] {
            // Given the digit 1 next to a NUL byte (UTF-16LE or BE for "1")
            // When both parse it
            // Then only Foundation accepts it
            #expect(Self.foundationAccepts(bytes))
            #expect(!Self.readerAccepts(bytes))
        }
    }

    @Test(
        "skipValue refuses numbers beyond Double's range, as JSONSerialization does",
        arguments: ["1e400", "-1e400", "[1.5e309]", #"{"a":123e999999999999999999}"#]
    )
    func outOfRangeNumbers(document: String) {
        // Given a number that overflows a double
        let bytes = Array(document.utf8)

        // When both parse it
        // Then both refuse it
        #expect(!Self.foundationAccepts(bytes))
        #expect(!Self.readerAccepts(bytes))
    }

    @Test("accepts a number that underflows to zero, as JSONSerialization does")
    func underflow() {
        // Given a number too small for a double
        let bytes = Array("[1e-400]".utf8)

        // When both parse it
        // Then both accept it
        #expect(Self.foundationAccepts(bytes))
        #expect(Self.readerAccepts(bytes))
    }

    @Test("draws the nesting limit where JSONSerialization does")
    func depthAgreesWithFoundation() {
        for depth in [JSONReader.maximumDepth, JSONReader.maximumDepth + 1] {
            // Given arrays nested at and just past the reader's limit
            let bytes =
                Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)

            // When both parse them
            // Then they agree
            #expect(Self.readerAccepts(bytes) == Self.foundationAccepts(bytes), "depth \(depth)")
        }
    }
}
