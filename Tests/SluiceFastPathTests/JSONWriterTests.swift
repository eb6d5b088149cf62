import Foundation
import Testing

@testable import SluiceFastPath

@Suite("JSONWriter")
struct JSONWriterTests {
    /// The writer's text.
    private func text(_ writer: JSONWriter) -> String {
        String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The writer's bytes parsed by Foundation, top-level scalars allowed.
    private func parsed(_ writer: JSONWriter) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(writer.bytes), options: .fragmentsAllowed)
    }

    /// Writes one string and parses it back with Foundation.
    private func roundTrip(_ value: String) throws -> String {
        var writer = JSONWriter()
        writer.string(value)
        return try #require(try parsed(writer) as? String, "not a string: \(text(writer))")
    }

    // MARK: - Strings

    static let strings: [String] = [
        "",
        "plain",
        #"say "hi""#,
        #"back\slash and \\ two"#,
        #"\""#,
        "slash / and </script>",
        "café, naïve, Ελληνικά, 日本語",
        "emoji 😀👩‍👩‍👧 and flags 🇩🇪",
        "e\u{301} decomposed",
        "\u{7F} delete is not a control character in JSON",
        "\u{2028}\u{2029} line separators",
        // Not leading: Foundation drops a byte order mark at the very start of a string it parses.
        "x\u{FEFF}\u{FFFF}\u{10FFFF}",
        "mixed \"\\\n\t\u{0}😀/ end",
    ]

    @Test("writes strings Foundation reads back unchanged", arguments: strings)
    func stringRoundTrip(value: String) throws {
        // Given a string with characters JSON must or may escape

        // When it is written and parsed by JSONSerialization
        let decoded = try roundTrip(value)

        // Then the same UTF-8 comes back (compared as bytes, not by canonical equivalence)
        #expect(Array(decoded.utf8) == Array(value.utf8))
    }

    @Test("escapes every control character U+0000 to U+001F", arguments: 0...0x1F)
    func controlCharacter(code: Int) throws {
        // Given a string holding the control character between other text
        let value = "a\(Character(Unicode.Scalar(UInt8(code))))b"

        // When it is written
        var writer = JSONWriter()
        writer.string(value)

        // Then no raw control byte is written, and Foundation reads the character back
        #expect(!writer.bytes.contains { $0 < 0x20 })
        #expect(Array(try roundTrip(value).utf8) == Array(value.utf8))
    }

    @Test("uses the short escapes and lower-case \\u00XX for the rest")
    func escapeSpelling() {
        // Given a string with each kind of escaped character
        var writer = JSONWriter()

        // When it is written
        writer.string("\"\\\n\r\t\u{8}\u{C}\u{0}\u{1F}/é")

        // Then the escapes are the expected ones and `/` and non-ASCII are written as is
        #expect(text(writer) == #""\"\\\n\r\t\b\f\u0000\u001f/é""#)
    }

    @Test("writes an optional string, or null when there is none")
    func optionalString() {
        // Given a writer
        var writer = JSONWriter()

        // When a present and an absent optional string are written
        writer.beginArray()
        writer.string(String?.some("x"))
        writer.string(String?.none)
        writer.endArray()

        // Then they are a string and null
        #expect(text(writer) == #"["x",null]"#)
    }

    @Test("writes member names escaped like strings")
    func keyEscaping() throws {
        // Given a member name with a quote, a backslash and a newline
        let name = "a\"b\\c\nd"
        var writer = JSONWriter()

        // When an object with that member is written
        writer.beginObject()
        writer.key(name)
        writer.int(1)
        writer.endObject()

        // Then Foundation reads the name back
        let object = try #require(try parsed(writer) as? [String: Any])
        #expect(object.keys.map { Array($0.utf8) } == [Array(name.utf8)])
    }

    // MARK: - Numbers

    static let integers: [Int] = [
        0, 1, -1, 7, -42, 10, 100, 1_000_000, Int(Int32.max) + 1, Int.max, Int.min, Int.min + 1,
    ]

    @Test("writes integers as their decimal text", arguments: integers)
    func integer(value: Int) throws {
        // Given an integer
        var writer = JSONWriter()

        // When it is written
        writer.int(value)

        // Then the text is Swift's decimal text and Foundation reads the same integer back
        #expect(text(writer) == String(value))
        let number = try #require(try parsed(writer) as? NSNumber)
        #expect(number.int64Value == Int64(value))
    }

    @Test("writes other integer types, including minimums and unsigned maximums")
    func integerTypes() {
        // Given a writer
        var writer = JSONWriter()

        // When integers of several widths are written
        writer.beginArray()
        writer.int(Int8.min)
        writer.int(Int8.max)
        writer.int(Int16.min)
        writer.int(UInt8.max)
        writer.int(Int64.min)
        writer.int(UInt64.max)
        writer.endArray()

        // Then each is its decimal text
        #expect(text(writer) == "[-128,127,-32768,255,-9223372036854775808,18446744073709551615]")
    }

    static let doubles: [Double] = [
        0.7, 1e-7, 0.1, -0.5, 1.5, 3.141592653589793, 1e300, -2.5e-300, 123456.789,
        9_007_199_254_740_992, 9_007_199_254_740_993.0 * 2, 1e20, 0.1 + 0.2,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude,
    ]

    @Test("writes doubles Foundation reads back exactly", arguments: doubles)
    func double(value: Double) throws {
        // Given a finite double
        var writer = JSONWriter()

        // When it is written
        writer.double(value)

        // Then JSONSerialization accepts it as a number, and JSONDecoder reads the same double back.
        // (JSONSerialization itself is no oracle for the value: on Linux it rounds some decimal texts to a
        // neighbouring double, e.g. 0.30000000000000004 to 0.3000000000000001; JSONDecoder rounds correctly.)
        #expect(try parsed(writer) is NSNumber, "not a number: \(text(writer))")
        #expect(try JSONDecoder().decode(Double.self, from: Data(writer.bytes)) == value, "\(text(writer))")
    }

    @Test(
        "writes integral doubles below 2^53 without a fraction",
        arguments: [
            (0.0, "0"), (3.0, "3"), (-3.0, "-3"), (100.0, "100"), (1e15, "1000000000000000"),
            (9_007_199_254_740_991, "9007199254740991"), (-9_007_199_254_740_991, "-9007199254740991"),
        ] as [(Double, String)]
    )
    func integralDouble(value: Double, expected: String) {
        // Given an integral double
        var writer = JSONWriter()

        // When it is written
        writer.double(value)

        // Then it has no fraction
        #expect(text(writer) == expected)
    }

    @Test("writes 0.7 and 1e-7 as the shortest text that reads back")
    func shortestDoubles() {
        // Given a writer
        var writer = JSONWriter()

        // When 0.7 and 1e-7 are written
        writer.beginArray()
        writer.double(0.7)
        writer.double(1e-7)
        writer.endArray()

        // Then they are Swift's shortest round-tripping text (an exponent with a leading zero is valid JSON)
        #expect(text(writer) == "[0.7,1e-07]")
    }

    @Test("writes nan and infinities as null", arguments: [Double.nan, .infinity, -.infinity, .signalingNaN])
    func nonFinite(value: Double) throws {
        // Given a non-finite double inside an array
        var writer = JSONWriter()

        // When it is written between two other values
        writer.beginArray()
        writer.int(1)
        writer.double(value)
        writer.int(2)
        writer.endArray()

        // Then it is null and the commas are still right
        #expect(text(writer) == "[1,null,2]")
        let array = try #require(try parsed(writer) as? [Any])
        #expect(array[1] is NSNull)
    }

    // MARK: - Structure

    @Test("places commas between members and elements of nested objects and arrays")
    func nesting() throws {
        // Given a writer
        var writer = JSONWriter()

        // When a document mixing every kind of value and empty containers is written
        writer.beginObject()
        writer.key("a")
        writer.beginArray()
        writer.int(1)
        writer.beginObject()
        writer.endObject()
        writer.beginArray()
        writer.endArray()
        writer.beginArray()
        writer.beginArray()
        writer.string("deep")
        writer.endArray()
        writer.endArray()
        writer.string("x")
        writer.endArray()
        writer.key("b")
        writer.null()
        writer.key("c")
        writer.beginObject()
        writer.key("d")
        writer.bool(true)
        writer.key("e")
        writer.bool(false)
        writer.endObject()
        writer.key("f")
        writer.double(0.5)
        writer.endObject()

        // Then the text is compact, with a comma exactly between siblings
        #expect(text(writer) == #"{"a":[1,{},[],[["deep"]],"x"],"b":null,"c":{"d":true,"e":false},"f":0.5}"#)
        let object = try #require(try parsed(writer) as? NSDictionary)
        let expected: NSDictionary = [
            "a": [1, [String: Any](), [Any](), [["deep"]], "x"], "b": NSNull(), "c": ["d": true, "e": false],
            "f": 0.5,
        ]
        #expect(object == expected)
    }

    @Test("writes empty containers at the top level")
    func emptyContainers() {
        // Given two writers
        var object = JSONWriter()
        var array = JSONWriter()

        // When each writes an empty container
        object.beginObject()
        object.endObject()
        array.beginArray()
        array.endArray()

        // Then they are `{}` and `[]`
        #expect(text(object) == "{}")
        #expect(text(array) == "[]")
    }

    @Test("writes raw JSON unchanged, with commas around it like any value")
    func raw() throws {
        // Given JSON text kept as is
        let schema = #"{"type":"object","properties":{"q":{"type":"string"}}}"#
        var writer = JSONWriter()

        // When it is written as a member value and as array elements
        writer.beginObject()
        writer.key("schema")
        writer.raw(schema)
        writer.key("list")
        writer.beginArray()
        writer.raw("1")
        writer.raw(#"[true, null]"#)
        writer.endArray()
        writer.key("n")
        writer.int(2)
        writer.endObject()

        // Then the text is copied verbatim, separated by commas
        #expect(text(writer) == #"{"schema":\#(schema),"list":[1,[true, null]],"n":2}"#)
        _ = try parsed(writer)
    }
}
