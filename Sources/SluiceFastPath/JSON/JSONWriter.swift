/// Writes compact JSON text straight into a byte array, for the documents on the request path.
///
/// Foundation's `JSONEncoder` goes through `Encodable` containers, boxes every value and builds an intermediate
/// tree; for the few fixed shapes a gateway writes on every request (completions, stream chunks, upstream
/// requests) writing bytes directly is several times cheaper. Commas are placed automatically: call ``key(_:)``
/// before each member value in an object, and nothing between array elements.
///
/// ```swift
/// var json = JSONWriter()
/// json.beginObject()
/// json.key("id"); json.string("chatcmpl-1")
/// json.key("choices"); json.beginArray(); json.int(0); json.endArray()
/// json.endObject()
/// // json.bytes == Array(#"{"id":"chatcmpl-1","choices":[0]}"#.utf8)
/// ```
///
/// Strings are escaped as RFC 8259 requires (quote, backslash and control characters); everything else, `/` and
/// non-ASCII text included, is written as is. A non-finite `Double`, which JSON cannot carry, is written as `null`.
package struct JSONWriter: Sendable {
    /// The text written so far.
    package private(set) var bytes: [UInt8]
    private var needsComma = false

    /// Creates an empty writer.
    ///
    /// - Parameter capacity: Bytes to reserve up front.
    package init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: - Structure

    /// Opens an object.
    package mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost object.
    package mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array.
    package mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost array.
    package mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes a member name; the next value written is its value.
    ///
    /// - Parameter name: The member name.
    package mutating func key(_ name: String) {
        separate()
        writeQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: - Members

    /// Writes a string member; nothing when `value` is `nil` (for an explicit `null`, write ``key(_:)`` and then
    /// ``null()``).
    ///
    /// - Parameters:
    ///   - name: The member name.
    ///   - value: The value.
    package mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    /// Writes an integer member; nothing when `value` is `nil`.
    ///
    /// - Parameters:
    ///   - name: The member name.
    ///   - value: The value.
    package mutating func member(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    /// Writes an integer member; nothing when `value` is `nil`.
    ///
    /// - Parameters:
    ///   - name: The member name.
    ///   - value: The value.
    package mutating func member(_ name: String, _ value: Int64?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    /// Writes a number member; nothing when `value` is `nil`.
    ///
    /// - Parameters:
    ///   - name: The member name.
    ///   - value: The value.
    package mutating func member(_ name: String, _ value: Double?) {
        guard let value else { return }
        key(name)
        double(value)
    }

    /// Writes a boolean member; nothing when `value` is `nil`.
    ///
    /// - Parameters:
    ///   - name: The member name.
    ///   - value: The value.
    package mutating func member(_ name: String, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }

    // MARK: - Values

    /// Writes a string.
    ///
    /// - Parameter value: The string.
    package mutating func string(_ value: String) {
        separate()
        writeQuoted(value)
        needsComma = true
    }

    /// Writes a string, or `null` when there is none.
    ///
    /// - Parameter value: The string.
    package mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// Writes an integer of any width (`Int` and `Int64` have faster, non-generic overloads).
    ///
    /// - Parameter value: The integer.
    package mutating func int(_ value: some BinaryInteger) {
        if let exact = Int64(exactly: value) {
            int(exact)
        } else {
            separate()
            bytes.append(contentsOf: String(value).utf8)
            needsComma = true
        }
    }

    /// Writes an integer.
    ///
    /// - Parameter value: The integer.
    package mutating func int(_ value: Int) {
        int(Int64(value))
    }

    /// Writes an integer.
    ///
    /// - Parameter value: The integer.
    package mutating func int(_ value: Int64) {
        separate()
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
        } else {
            var magnitude = value.magnitude
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            let start = bytes.count
            while magnitude > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
                magnitude /= 10
            }
            bytes[start...].reverse()
        }
        needsComma = true
    }

    /// Writes a number; integral values within ±2⁵³ are written without a fraction.
    ///
    /// - Parameter value: The number; `nan` and infinities are written as `null`.
    package mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        if value.rounded() == value, abs(value) < 9_007_199_254_740_992 {
            int(Int64(value))
        } else {
            separate()
            bytes.append(contentsOf: value.description.utf8)
            needsComma = true
        }
    }

    /// Writes `true` or `false`.
    ///
    /// - Parameter value: The flag.
    package mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
        needsComma = true
    }

    /// Writes `null`.
    package mutating func null() {
        separate()
        bytes.append(contentsOf: Self.nullBytes)
        needsComma = true
    }

    /// Writes text that is already JSON (a schema kept as text), unchanged.
    ///
    /// - Parameter json: Valid JSON text; the caller vouches for it.
    package mutating func raw(_ json: String) {
        separate()
        bytes.append(contentsOf: json.utf8)
        needsComma = true
    }

    // MARK: - Helpers

    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func writeQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
