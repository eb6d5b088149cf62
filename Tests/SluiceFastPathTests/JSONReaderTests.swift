import Foundation
import Testing

@testable import SluiceFastPath

@Suite("JSONReader")
struct JSONReaderTests {
    /// Reads a document that is one string.
    private func readString(_ json: String) throws -> String {
        var reader = JSONReader(Array(json.utf8))
        let value = try reader.readString()
        try reader.finish()
        return value
    }

    /// Writes `value` with ``JSONWriter`` and reads it back.
    private func writtenAndRead<Value>(
        _ write: (inout JSONWriter) -> Void,
        _ read: (inout JSONReader) throws -> Value
    ) throws -> Value {
        var writer = JSONWriter()
        write(&writer)
        var reader = JSONReader(writer.bytes)
        let value = try read(&reader)
        try reader.finish()
        return value
    }

    // MARK: - Round trips

    static let strings: [String] = [
        "", "plain", #"say "hi""#, #"back\slash"#, "slash / </script>", "café 日本語", "emoji 😀👩‍👩‍👧 🇩🇪",
        "e\u{301}", "\u{FEFF}leading byte order mark", "\u{7F}\u{80}\u{FFFF}\u{10FFFF}", "\u{2028}\u{2029}",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }),
        "mixed \"\\\n\t\u{0}😀/ end",
    ]

    @Test("reads back every string JSONWriter writes", arguments: strings)
    func stringRoundTrip(value: String) throws {
        // Given a string written by JSONWriter
        // When it is read back
        let read = try writtenAndRead({ $0.string(value) }, { try $0.readString() })

        // Then it is the same UTF-8
        #expect(Array(read.utf8) == Array(value.utf8))
    }

    @Test(
        "reads back integers JSONWriter writes",
        arguments: [0, 1, -1, 42, -42, 1_000_000_007, Int.max, Int.min, Int.min + 1]
    )
    func intRoundTrip(value: Int) throws {
        // Given an integer written by JSONWriter
        // When it is read back
        let read = try writtenAndRead({ $0.int(value) }, { try $0.readInt() })

        // Then it is the same integer
        #expect(read == value)
    }

    @Test(
        "reads back doubles JSONWriter writes",
        arguments: [
            0.0, 3.0, -3.0, 0.7, 1e-7, 0.1 + 0.2, 1e300, -2.5e-300, 9_007_199_254_740_992, .pi,
            .greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude,
        ] as [Double]
    )
    func doubleRoundTrip(value: Double) throws {
        // Given a double written by JSONWriter
        // When it is read back
        let read = try writtenAndRead({ $0.double(value) }, { try $0.readDouble() })

        // Then it is the same double
        #expect(read == value)
    }

    @Test("reads back a nested document member by member")
    func nestedRoundTrip() throws {
        // Given a nested document written by JSONWriter
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("id")
        writer.string("chatcmpl-1")
        writer.key("choices")
        writer.beginArray()
        writer.beginObject()
        writer.key("index")
        writer.int(0)
        writer.key("stop")
        writer.null()
        writer.key("flags")
        writer.beginArray()
        writer.bool(true)
        writer.bool(false)
        writer.endArray()
        writer.endObject()
        writer.endArray()
        writer.key("score")
        writer.double(0.5)
        writer.key("schema")
        writer.raw(#"{"type": "object", "required": ["q"]}"#)
        writer.endObject()

        // When it is read back, skipping the raw schema
        var reader = JSONReader(writer.bytes)
        var id = ""
        var indices: [Int] = []
        var stops: [String?] = []
        var flags: [Bool] = []
        var score = 0.0
        var keys: [String] = []
        try reader.readObject { reader, key in
            keys.append(key)
            switch key {
            case "id": id = try reader.readString()
            case "choices":
                try reader.readArray { reader in
                    try reader.readObject { reader, key in
                        switch key {
                        case "index": indices.append(try reader.readInt())
                        case "stop": stops.append(try reader.readOptionalString())
                        case "flags": try reader.readArray { flags.append(try $0.readBool()) }
                        default: Issue.record("unexpected key \(key)")
                        }
                    }
                }
            case "score": score = try reader.readDouble()
            default: try reader.skipValue()
            }
        }
        try reader.finish()

        // Then every value is as written
        #expect(keys == ["id", "choices", "score", "schema"])
        #expect(id == "chatcmpl-1")
        #expect(indices == [0])
        #expect(stops == [nil])
        #expect(flags == [true, false])
        #expect(score == 0.5)
    }

    @Test("reads what Foundation writes for strings with every escape it uses")
    func foundationStrings() throws {
        // Given strings serialized by JSONSerialization (which escapes `/` as `\/`)
        for value in Self.strings {
            let data = try JSONSerialization.data(withJSONObject: [value])
            var reader = JSONReader(Array(data))
            var read: [String] = []

            // When the array is read
            try reader.readArray { read.append(try $0.readString()) }
            try reader.finish()

            // Then the string is the same UTF-8
            #expect(read.map { Array($0.utf8) } == [Array(value.utf8)])
        }
    }

    // MARK: - Escapes

    @Test(
        "decodes escapes",
        arguments: [
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
            (#""\u0041\u00e9\u00E9\u20AC""#, "Aéé€"),
            (#""\u0000""#, "\u{0}"),
            (#""a\u001Fb""#, "a\u{1F}b"),
            (#""\uD83D\uDE00""#, "😀"),
            (#""\ud83d\ude00 and \uDBFF\uDFFF""#, "😀 and \u{10FFFF}"),
            (#""\uFFFF\uFEFF""#, "\u{FFFF}\u{FEFF}"),
            (#""x\ny\u00e9 café""#, "x\nyé café"),
            (#""😀\n""#, "😀\n"),
        ] as [(String, String)]
    )
    func escapes(json: String, expected: String) throws {
        // Given a string with escapes
        // When it is read
        let value = try readString(json)

        // Then the escapes are decoded
        #expect(Array(value.utf8) == Array(expected.utf8))
    }

    @Test(
        "refuses unpaired surrogates and malformed escapes",
        arguments: [
            #""\uD800""#, #""\uDBFF""#, #""\uDC00""#, #""\uDFFF x""#, #""\uD800\u0041""#, #""\uD800x""#,
            #""\uD800\n""#, #""\uD83D\uD83D""#, #""\uDE00\uD83D""#, #""\uD800\""#, #""\uD800\u""#,
            #""\x""#, #""\'""#, #""\U0041""#, #""\u12""#, #""\u12G4""#, #""\u""#, #""\ ""#, #""\"#,
        ]
    )
    func badEscape(json: String) {
        // Given a string with a bad escape
        // When it is read
        // Then it is refused
        #expect(throws: JSONReader.Error.self) { try readString(json) }
    }

    // MARK: - Typed reads

    @Test(
        "readInt refuses fractions, exponents and integers beyond Int",
        arguments: [
            "1.5", "1e2", "1E2", "1.0", "-1.0", "1e0", "9223372036854775808", "-9223372036854775809", "true", #""1""#,
            "null",
        ]
    )
    func readIntRefuses(json: String) {
        // Given a number that is not a plain integer in Int's range, or no number
        var reader = JSONReader(Array(json.utf8))

        // When it is read as an integer
        // Then the reader throws
        #expect(throws: JSONReader.Error.self) { try reader.readInt() }
    }

    @Test("readInt reads -0 as 0")
    func readNegativeZero() throws {
        // Given -0
        var reader = JSONReader(Array("-0".utf8))

        // When it is read as an integer
        // Then it is 0
        #expect(try reader.readInt() == 0)
    }

    @Test("readDouble refuses numbers beyond Double's range", arguments: ["1e400", "-1e400", "2e308"])
    func readDoubleOutOfRange(json: String) {
        // Given a number too large for a double
        var reader = JSONReader(Array(json.utf8))

        // When it is read as a double
        // Then the reader throws
        #expect(throws: JSONReader.Error.self) { try reader.readDouble() }
    }

    @Test("readDouble keeps the sign of -0")
    func readDoubleNegativeZero() throws {
        // Given -0
        var reader = JSONReader(Array("-0".utf8))

        // When it is read as a double
        let value = try reader.readDouble()

        // Then it is negative zero
        #expect(value == 0 && value.sign == .minus)
    }

    @Test("readBool reads true and false and refuses anything else")
    func readBool() throws {
        // Given booleans and non-booleans
        var yes = JSONReader(Array(" true".utf8))
        var no = JSONReader(Array("false ".utf8))
        var number = JSONReader(Array("1".utf8))
        var null = JSONReader(Array("null".utf8))

        // When they are read as booleans
        // Then the booleans read and the rest throw
        #expect(try yes.readBool() == true)
        #expect(try no.readBool() == false)
        #expect(throws: JSONReader.Error.self) { try number.readBool() }
        #expect(throws: JSONReader.Error.self) { try null.readBool() }
    }

    @Test("readNull consumes null only")
    func readNull() throws {
        // Given null followed by a string
        var reader = JSONReader(Array(#"[null, "x"]"#.utf8))
        var values: [String?] = []

        // When each element is read as an optional string
        try reader.readArray { reader in
            values.append(try reader.readNull() ? nil : try reader.readString())
        }
        try reader.finish()

        // Then null is nil and the string is untouched by readNull
        #expect(values == [nil, "x"])
    }

    @Test("peekKind names the next value without consuming it")
    func peekKind() throws {
        // Given one value of each kind
        let cases: [(String, JSONReader.Kind)] = [
            ("{}", .object), ("[]", .array), (#""s""#, .string), ("-1", .number), ("7", .number), ("true", .bool),
            ("false", .bool), ("null", .null),
        ]

        for (json, kind) in cases {
            // When its kind is peeked and then the value is skipped
            var reader = JSONReader(Array(" \(json)".utf8))
            let peeked = try reader.peekKind()
            try reader.skipValue()
            try reader.finish()

            // Then the kind is right and the whole value was still there to skip
            #expect(peeked == kind, "\(json)")
        }
    }

    @Test("reports the offset where reading stopped")
    func errorOffset() {
        // Given a trailing comma at offset 3
        var reader = JSONReader(Array("[1,]".utf8))

        // When it is skipped
        let error = #expect(throws: JSONReader.Error.self) { try reader.skipValue() }

        // Then the error points at the closing bracket
        #expect(error?.offset == 3)
    }

    @Test("reads duplicate member names as they come, leaving the choice to the caller")
    func duplicateKeys() throws {
        // Given an object with a repeated member name
        var reader = JSONReader(Array(#"{"a":1,"a":2}"#.utf8))
        var seen: [(String, Int)] = []

        // When it is read
        try reader.readObject { reader, key in seen.append((key, try reader.readInt())) }
        try reader.finish()

        // Then both members are handed over in order
        #expect(seen.map(\.0) == ["a", "a"])
        #expect(seen.map(\.1) == [1, 2])
    }
}
