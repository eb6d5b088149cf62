/// The character classes that the cl100k_base split pattern distinguishes, as bit flags.
///
/// The pattern only asks four questions about a Unicode scalar: is it `\p{L}`, `\p{N}`, `\s`, or one of `[\r\n]`.
/// A scalar with none of the bits set is "other" (`[^\s\p{L}\p{N}]`: punctuation, symbols, marks, controls,
/// unassigned code points). The meanings follow the Unicode mode of the Rust `regex` crate that tiktoken uses:
///
/// - `\p{L}`: general category `Lu`, `Ll`, `Lt`, `Lm` or `Lo`.
/// - `\p{N}`: general category `Nd`, `Nl` or `No`.
/// - `\s`: the Unicode `White_Space` property (so U+001C…U+001F, which Python's `str.isspace` accepts, are not
///   whitespace, while U+0085, U+00A0 and U+3000 are).
enum ScalarClass {
    /// `\p{L}`.
    static let letter: UInt8 = 1 << 0
    /// `\p{N}`.
    static let number: UInt8 = 1 << 1
    /// `\s`.
    static let whitespace: UInt8 = 1 << 2
    /// `[\r\n]`; always set together with ``whitespace``.
    static let lineBreak: UInt8 = 1 << 3

    /// Classes of every Basic Multilingual Plane scalar, computed once, so the hot path does no table search.
    private static let basicPlane: [UInt8] = (0..<0x1_0000).map { classifyUncached(UInt32($0)) }

    /// The class bits of a scalar value.
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x80 {
            switch value {
            case 0x61...0x7A, 0x41...0x5A: return letter
            case 0x30...0x39: return number
            case 0x0A, 0x0D: return whitespace | lineBreak
            case 0x09, 0x0B, 0x0C, 0x20: return whitespace
            default: return 0
            }
        }
        if value < 0x1_0000 {
            return basicPlane.withUnsafeBufferPointer { $0[Int(value)] }
        }
        return classifyUncached(value)
    }

    /// Looks the scalar up in the standard library's Unicode tables.
    private static func classifyUncached(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else {
            return 0  // surrogate code points never occur in valid UTF-8
        }
        if value == 0x0A || value == 0x0D {
            return whitespace | lineBreak
        }
        let properties = scalar.properties
        if properties.isWhitespace {
            return whitespace
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return 0
        }
    }
}
