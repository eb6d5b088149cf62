/// Reads JSON text value by value, without building a tree, for the documents on the request path.
///
/// The caller walks the document it expects: ``readObject(_:)`` hands over each member name and the body reads
/// (or ``skipValue()``s) its value. Parsing is strict RFC 8259: a document this reader accepts is one Foundation's
/// `JSONDecoder` accepts too, so a fast path built on it can fall back to `Codable` for anything it declines and
/// still answer exactly as before.
///
/// ```swift
/// var reader = JSONReader(Array(#"{"id":"a","n":2,"extra":[1,{}]}"#.utf8))
/// var id = "", n = 0
/// try reader.readObject { reader, key in
///     switch key {
///     case "id": id = try reader.readString()
///     case "n": n = try reader.readInt()
///     default: try reader.skipValue()
///     }
/// }
/// try reader.finish()
/// ```
package struct JSONReader: Sendable {
    /// Why a document could not be read.
    package struct Error: Swift.Error, Sendable, CustomStringConvertible {
        /// The byte offset where reading stopped.
        package var offset: Int
        /// What was wrong there.
        package var reason: String

        package var description: String { "JSON error at byte \(offset): \(reason)" }
    }

    /// The kind of the next value, from its first byte.
    package enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    /// The deepest nesting of objects and arrays read; deeper documents are refused rather than recursed into.
    package static let maximumDepth = 512

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    /// Creates a reader over a whole document.
    ///
    /// - Parameter bytes: The JSON text, UTF-8.
    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: - Structure

    /// The kind of the next value, without consuming it.
    ///
    /// - Throws: ``Error`` at the end of input or on a byte no value starts with.
    package mutating func peekKind() throws -> Kind {
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw failure("unexpected character")
        }
    }

    /// Reads an object, calling `body` with each member name; `body` must read or skip the member's value.
    ///
    /// - Parameter body: Reads one member's value.
    /// - Throws: ``Error`` for malformed input, or what `body` throws.
    package mutating func readObject(_ body: (inout JSONReader, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        try descend()
        defer { depth -= 1 }
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return }
        while true {
            skipWhitespace()
            let key = try readString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Reads an array, calling `body` once per element; `body` must read or skip the element.
    ///
    /// - Parameter body: Reads one element.
    /// - Throws: ``Error`` for malformed input, or what `body` throws.
    package mutating func readArray(_ body: (inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        try descend()
        defer { depth -= 1 }
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return }
        while true {
            try body(&self)
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    /// Checks that nothing but whitespace follows the document.
    ///
    /// - Throws: ``Error`` when something does.
    package mutating func finish() throws {
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the document") }
    }

    // MARK: - Values

    /// Consumes `null` if it comes next.
    ///
    /// - Returns: Whether it did.
    package mutating func readNull() throws -> Bool {
        guard try peekKind() == .null else { return false }
        try expectLiteral("null")
        return true
    }

    /// Reads a string.
    ///
    /// - Throws: ``Error`` unless the next value is a valid string.
    package mutating func readString() throws -> String {
        skipWhitespace()
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try makeString(start..<index)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try readEscapedString(from: start) }
            guard byte >= 0x20 else { throw failure("control character in a string") }
            index += 1
        }
        throw failure("unterminated string")
    }

    /// Reads a string, or `nil` for `null`.
    ///
    /// - Throws: ``Error`` unless the next value is a string or `null`.
    package mutating func readOptionalString() throws -> String? {
        try readNull() ? nil : readString()
    }

    /// Reads `true` or `false`.
    ///
    /// - Throws: ``Error`` unless the next value is a boolean.
    package mutating func readBool() throws -> Bool {
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "t") {
            try expectLiteral("true")
            return true
        }
        try expectLiteral("false")
        return false
    }

    /// Reads an integer written without fraction or exponent.
    ///
    /// - Throws: ``Error`` unless the next value is such an integer within `Int`'s range.
    package mutating func readInt() throws -> Int {
        let text = try numberText()
        guard let value = Int(text) else { throw failure("expected an integer") }
        return value
    }

    /// Reads a number.
    ///
    /// A number whose nonzero digits would round to zero is refused, as `JSONDecoder` refuses it.
    ///
    /// - Throws: ``Error`` unless the next value is a number a `Double` can hold.
    package mutating func readDouble() throws -> Double {
        let text = try numberText()
        guard let value = Double(text), value.isFinite else { throw failure("number out of range") }
        if value == 0, text.prefix(while: { $0 != "e" && $0 != "E" }).contains(where: { ("1"..."9").contains($0) }) {
            throw failure("number too small for a double")
        }
        return value
    }

    /// Skips the next value, whatever it is.
    ///
    /// - Throws: ``Error`` if the value is malformed.
    package mutating func skipValue() throws {
        switch try peekKind() {
        case .object: try readObject { reader, _ in try reader.skipValue() }
        case .array: try readArray { reader in try reader.skipValue() }
        case .string: _ = try readString()
        case .number:
            // Beyond a double's range is refused, as JSONSerialization refuses it; underflow reads as zero.
            guard let value = Double(try numberText()), value.isFinite else { throw failure("number out of range") }
        case .bool: _ = try readBool()
        case .null: _ = try readNull()
        }
    }

    // MARK: - Helpers

    private func failure(_ reason: String) -> Error {
        Error(offset: index, reason: reason)
    }

    private mutating func descend() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard consume(byte) else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        skipWhitespace()
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] {
            throw failure("expected \(literal)")
        }
        index += count
    }

    private func makeString(_ range: Range<Int>) throws -> String {
        guard let text = bytes.withUnsafeBufferPointer({ String(validating: $0[range], as: UTF8.self) }) else {
            throw failure("invalid UTF-8 in a string")
        }
        return text
    }

    /// Reads the rest of a string that contains escapes; `start` is its first byte after the quote.
    private mutating func readEscapedString(from start: Int) throws -> String {
        var scalars: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string")
                }
                return text
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw failure("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "u"): scalars.append(contentsOf: try readUnicodeEscape())
                default: throw failure("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("control character in a string") }
                scalars.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    /// Reads the hex digits after `\u` (and a low surrogate's escape after a high one) as UTF-8.
    private mutating func readUnicodeEscape() throws -> [UInt8] {
        var value = try readHex4()
        if (0xD800..<0xDC00).contains(value) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate") }
            index += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(value) {
            throw failure("unpaired surrogate")
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("invalid code point") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func readHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("unterminated escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Consumes a number's text, checking RFC 8259's grammar.
    private mutating func numberText() throws -> Substring {
        skipWhitespace()
        let start = index
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            // A leading zero stands alone.
        } else {
            guard digits() > 0 else { throw failure("expected a number") }
        }
        if consume(UInt8(ascii: ".")) {
            guard digits() > 0 else { throw failure("expected digits after '.'") }
        }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            _ = consume(UInt8(ascii: "+")) || consume(UInt8(ascii: "-"))
            guard digits() > 0 else { throw failure("expected an exponent") }
        }
        return Substring(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }
}
