import Foundation
import SluiceTesting

@testable import SluiceFastPath

/// A JSON value as a tree, for generating documents and comparing what a reader makes of them.
indirect enum JSONTree: CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    /// The value as Foundation objects, for `JSONSerialization`.
    var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .int(let value): value
        case .double(let value): value
        case .string(let value): value
        case .array(let values): values.map(\.foundationObject)
        case .object(let members): members.mapValues(\.foundationObject)
        }
    }

    var description: String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: foundationObject, options: .fragmentsAllowed))
                ?? Data(),
            as: UTF8.self
        )
    }

    /// Whether two trees hold the same value: strings compared as UTF-8, numbers by value.
    func matches(_ other: JSONTree) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(exactly: a) == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.matches($1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count
                && a.allSatisfy { key, value in
                    guard let match = b.first(where: { $0.key.utf8.elementsEqual(key.utf8) }) else { return false }
                    return value.matches(match.value)
                }
        default: return false
        }
    }

    /// Reads one value with ``JSONReader``, integers as `Int` and other numbers as `Double`.
    static func read(_ reader: inout JSONReader) throws -> JSONTree {
        switch try reader.peekKind() {
        case .null:
            _ = try reader.readNull()
            return .null
        case .bool: return .bool(try reader.readBool())
        case .string: return .string(try reader.readString())
        case .number:
            var integer = reader
            if let value = try? integer.readInt() {
                reader = integer
                return .int(value)
            }
            return .double(try reader.readDouble())
        case .array:
            var values: [JSONTree] = []
            try reader.readArray { values.append(try read(&$0)) }
            return .array(values)
        case .object:
            var members: [String: JSONTree] = [:]
            try reader.readObject { reader, key in members[key] = try read(&reader) }
            return .object(members)
        }
    }
}

/// Generates random JSON values from a seeded generator.
struct RandomJSON {
    var random: SplitMix64

    /// Characters strings are built from: plain text, everything JSON escapes, and multi-byte UTF-8.
    private static let alphabet: [Unicode.Scalar] =
        Array("abcXYZ019 -_.:,{}[]'".unicodeScalars)
        + ["\"", "\\", "/", "\u{7F}", "\u{80}", "é", "ß", "日", "😀", "\u{2028}", "\u{FEFF}", "\u{FFFF}", "\u{10FFFF}"]
        + (0..<0x20).map { Unicode.Scalar(UInt8($0)) }

    /// A random value, at most `depth` containers deep.
    mutating func value(depth: Int = 4) -> JSONTree {
        let kind = Int.random(in: 0..<(depth > 0 ? 9 : 6), using: &random)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int(integer())
        case 3: return .double(double())
        case 4, 5: return .string(string())
        case 6, 7:
            return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in value(depth: depth - 1) })
        default:
            var members: [String: JSONTree] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) { members[string()] = value(depth: depth - 1) }
            return .object(members)
        }
    }

    /// A random string of up to 8 characters.
    mutating func string() -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            text.append(Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &random)])
        }
        return String(text)
    }

    private mutating func integer() -> Int {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: [0, 1, -1, Int.max, Int.min][Int.random(in: 0..<5, using: &random)]
        case 1: Int.random(in: -1000...1000, using: &random)
        default: Int(truncatingIfNeeded: random.next())
        }
    }

    private mutating func double() -> Double {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: Double(Int.random(in: -10_000...10_000, using: &random)) / 100
        case 1: Double.random(in: -1...1, using: &random) * pow(10, Double(Int.random(in: -30...30, using: &random)))
        default:
            // Any finite bit pattern: subnormals and values near the largest magnitude included.
            Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF | (Bool.random(using: &random) ? 1 << 63 : 0))
        }
    }
}
