import Testing

@testable import SluiceFastPath

@Suite("JSONReader strictness")
struct JSONReaderStrictnessTests {
    /// Skips one whole document and checks nothing follows it.
    private func skipDocument(_ bytes: [UInt8]) throws {
        var reader = JSONReader(bytes)
        try reader.skipValue()
        try reader.finish()
    }

    // MARK: - Strictness

    /// A document JSONReader must refuse.
    struct Invalid: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var testDescription: String { label }

        init(_ label: String, _ text: String) {
            self.label = label
            bytes = Array(text.utf8)
        }

        init(_ label: String, bytes: [UInt8]) {
            self.label = label
            self.bytes = bytes
        }
    }

    static let invalid: [Invalid] = [
        // Trailing and stray commas
        Invalid("trailing comma in array", "[1,]"),
        Invalid("trailing comma in array with space", "[1 , ]"),
        Invalid("trailing comma in object", #"{"a":1,}"#),
        Invalid("trailing comma in nested object", #"[{"a":1,}]"#),
        Invalid("leading comma", "[,1]"),
        Invalid("comma only", "[,]"),
        Invalid("empty object with comma", "{,}"),
        Invalid("double comma", "[1,,2]"),
        Invalid("missing comma", "[1 2]"),
        Invalid("missing colon", #"{"a" 1}"#),
        Invalid("missing value", #"{"a":}"#),
        Invalid("unquoted key", "{a:1}"),
        Invalid("number key", "{1:1}"),
        Invalid("unclosed array", "[1"),
        Invalid("unclosed object", #"{"a":1"#),
        Invalid("mismatched brackets", "[1}"),
        // Numbers
        Invalid("leading zero", "01"),
        Invalid("negative leading zero", "-01"),
        Invalid("leading zeros", "00"),
        Invalid("trailing dot", "1."),
        Invalid("trailing dot with exponent", "1.e5"),
        Invalid("leading dot", ".5"),
        Invalid("negative leading dot", "-.5"),
        Invalid("plus sign", "+1"),
        Invalid("minus alone", "-"),
        Invalid("minus minus", "--1"),
        Invalid("empty exponent", "1e"),
        Invalid("signed empty exponent", "1e+"),
        Invalid("double exponent sign", "1e+-1"),
        Invalid("hex", "0x10"),
        Invalid("space inside number", "- 1"),
        Invalid("NaN", "NaN"),
        Invalid("nan", "nan"),
        Invalid("Infinity", "Infinity"),
        Invalid("minus Infinity", "-Infinity"),
        Invalid("leading zero in array", "[01]"),
        Invalid("trailing dot in object", #"{"a":1.}"#),
        // Literals
        Invalid("capitalised true", "True"),
        Invalid("short true", "tru"),
        Invalid("short false", "fals"),
        Invalid("short null", "nul"),
        Invalid("longer literal", "nulll"),
        Invalid("undefined", "undefined"),
        // Strings
        Invalid("single-quoted string", "'a'"),
        Invalid("single-quoted key", "{'a':1}"),
        Invalid("unterminated string", #""abc"#),
        Invalid("unterminated string after escape", #""abc\"#),
        Invalid("unterminated escaped string", #""a\nbc"#),
        Invalid("unterminated key", #"{"a"#),
        Invalid("lone quote", #"""#),
        // Text after the document
        Invalid("two numbers", "1 2"),
        Invalid("object then text", "{}x"),
        Invalid("extra bracket", "[]]"),
        Invalid("two objects", "{}{}"),
        Invalid("two strings", #""a""b""#),
        Invalid("comma after document", "[1],"),
        Invalid("NUL after document", bytes: [UInt8(ascii: "1"), 0]),
        // Not JSON at all
        Invalid("empty", ""),
        Invalid("whitespace only", " \n\t\r"),
        Invalid("line comment", "// c\n1"),
        Invalid("block comment", "/* c */1"),
        Invalid("byte order mark", "\u{FEFF}1"),
        Invalid("form feed as whitespace", "\u{C}1"),
        Invalid("vertical tab as whitespace", "[\u{B}1]"),
        Invalid("non-breaking space as whitespace", "[\u{A0}1]"),
        Invalid("NUL before document", bytes: [0, UInt8(ascii: "1")]),
        // Invalid UTF-8 inside strings, on the plain path and on the path taken after an escape
        Invalid("0xFF in string", bytes: [0x22, 0xFF, 0x22]),
        Invalid("lone continuation byte", bytes: [0x22, 0x80, 0x22]),
        Invalid("truncated two-byte sequence", bytes: [0x22, 0xC3, 0x22]),
        Invalid("overlong slash", bytes: [0x22, 0xC0, 0xAF, 0x22]),
        Invalid("encoded surrogate", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]),
        Invalid("above U+10FFFF", bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
        Invalid("truncated emoji", bytes: [0x22, 0xF0, 0x9F, 0x98, 0x22]),
        Invalid("0xFF after an escape", bytes: [0x22, 0x5C, 0x6E, 0xFF, 0x22]),
        Invalid("truncated sequence after an escape", bytes: [0x22, 0x5C, 0x6E, 0xE2, 0x82, 0x22]),
        Invalid("invalid UTF-8 in a key", bytes: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]),
        Invalid("invalid UTF-8 outside strings", bytes: [0x5B, 0xC3, 0xA9, 0x5D]),
    ]

    @Test("refuses malformed documents", arguments: invalid)
    func refuses(document: Invalid) {
        // Given a document RFC 8259 does not allow
        // When it is skipped and finished
        // Then the reader throws
        #expect(throws: JSONReader.Error.self) { try skipDocument(document.bytes) }
    }

    @Test("refuses raw control characters inside strings", arguments: 0..<0x20)
    func rawControlCharacter(byte: Int) {
        // Given a string holding the raw control byte, on the plain and on the escaped path
        let plain: [UInt8] = [0x22, 0x61, UInt8(byte), 0x62, 0x22]
        let escaped: [UInt8] = [0x22, 0x5C, 0x6E, UInt8(byte), 0x22]

        // When each is read
        // Then each is refused
        #expect(throws: JSONReader.Error.self) { try skipDocument(plain) }
        #expect(throws: JSONReader.Error.self) { try skipDocument(escaped) }
    }

    @Test("accepts whitespace around and between tokens, and numbers in every RFC 8259 form")
    func accepts() throws {
        // Given documents that are valid, if unusual
        let documents = [
            " \t\r\n[ 1 , 2 ]\n", "0", "-0", "-0.0", "0.5", "1e5", "1E5", "1e+5", "1e-5", "1.5E-05", "-12.34e+56",
            "1e-400", "123456789012345678901234567890", #"{"":""}"#, #"{"a":{"a":{"a":[]}}}"#,
            "[[],[[]],{}]", "true", "false", "null", #""\u0000""#, "\"\u{7F}\"", #"{"a":1,"a":2}"#,
        ]

        for document in documents {
            // When each is skipped
            // Then it is accepted
            #expect(throws: Never.self, "\(document)") { try skipDocument(Array(document.utf8)) }
        }
    }

    // MARK: - Depth

    @Test("accepts nesting up to maximumDepth and refuses one level more")
    func depthLimit() throws {
        // Given arrays and objects nested exactly maximumDepth deep, and one deeper
        let depth = JSONReader.maximumDepth
        func arrays(_ depth: Int) -> [UInt8] {
            Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        }
        func objects(_ depth: Int) -> [UInt8] {
            Array(String(repeating: #"{"a":"#, count: depth - 1).utf8) + Array("{}".utf8)
                + Array(repeating: UInt8(ascii: "}"), count: depth - 1)
        }

        // When they are skipped
        // Then the limit is inclusive
        try skipDocument(arrays(depth))
        try skipDocument(objects(depth))
        #expect(throws: JSONReader.Error.self) { try skipDocument(arrays(depth + 1)) }
        #expect(throws: JSONReader.Error.self) { try skipDocument(objects(depth + 1)) }
    }

    @Test("refuses 100,000 open brackets by throwing, not by overflowing the stack")
    func hugeNesting() {
        // Given 100,000 unclosed arrays, and 100,000 unclosed objects
        let arrays = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)

        // When they are skipped
        // Then the reader throws at the depth limit
        #expect(throws: JSONReader.Error.self) { try skipDocument(arrays) }
        #expect(throws: JSONReader.Error.self) { try skipDocument(objects) }
    }

    @Test("refuses too deep nesting inside readObject and readArray bodies too")
    func depthThroughBodies() {
        // Given a document nested one level deeper than allowed
        let depth = JSONReader.maximumDepth + 1
        let bytes =
            Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)

        // When it is read with readArray recursively
        func read(_ reader: inout JSONReader) throws {
            try reader.readArray { try read(&$0) }
        }
        var reader = JSONReader(bytes)

        // Then it throws
        #expect(throws: JSONReader.Error.self) { try read(&reader) }
    }
}
