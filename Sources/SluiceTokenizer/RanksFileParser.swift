/// Parses tiktoken's `.tiktoken` ranks format: one `base64-token rank` pair per line.
///
/// Blank lines are skipped and a trailing `\r` is ignored, as tiktoken's `load_tiktoken_bpe` does.
enum RanksFileParser {
    /// The largest rank accepted, which bounds the size of the reverse lookup table.
    static let maxRank = 1 << 24

    /// The parsed tokens: all byte strings one after another, and where each one is.
    struct Ranks {
        var tokenBytes: [UInt8] = []
        var tokens: [(start: Int, length: Int, rank: Int)] = []
    }

    /// Parses the contents of a ranks file.
    ///
    /// - Parameters:
    ///   - contents: The file's bytes.
    ///   - fileName: The file name, for error messages.
    /// - Throws: ``TokenizerError`` with code ``TokenizerError/Code/malformedRanks`` on the first bad line.
    static func parse(_ contents: [UInt8], fileName: String) throws(TokenizerError) -> Ranks {
        var ranks = Ranks()
        ranks.tokenBytes.reserveCapacity(contents.count / 2)
        ranks.tokens.reserveCapacity(contents.count / 16)
        var lineStart = 0
        var lineNumber = 0
        while lineStart < contents.count {
            lineNumber += 1
            var lineEnd = contents[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? contents.count
            let nextLine = lineEnd + 1
            if lineEnd > lineStart, contents[lineEnd - 1] == UInt8(ascii: "\r") {
                lineEnd -= 1
            }
            if lineEnd > lineStart {
                guard let token = parseLine(contents[lineStart..<lineEnd], into: &ranks.tokenBytes) else {
                    throw TokenizerError(
                        code: .malformedRanks,
                        message: "\(fileName) line \(lineNumber) is not `<base64 token> <rank>`"
                    )
                }
                ranks.tokens.append(token)
            }
            lineStart = nextLine
        }
        return ranks
    }

    /// Parses one non-empty line, appending the decoded token to `tokenBytes`; `nil` if the line is malformed.
    private static func parseLine(
        _ line: ArraySlice<UInt8>,
        into tokenBytes: inout [UInt8]
    ) -> (start: Int, length: Int, rank: Int)? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")), space > line.startIndex else {
            return nil
        }
        let rankDigits = line[(space + 1)...]
        guard !rankDigits.isEmpty, rankDigits.count <= 9 else {
            return nil
        }
        var rank = 0
        for digit in rankDigits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else {
                return nil
            }
            rank = rank * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard rank <= maxRank else {
            return nil
        }
        let start = tokenBytes.count
        guard decodeBase64(line[..<space], into: &tokenBytes), tokenBytes.count > start else {
            tokenBytes.removeSubrange(start...)
            return nil
        }
        return (start, tokenBytes.count - start, rank)
    }

    /// Decodes standard, padded base64; `false` if `text` is not valid base64.
    private static func decodeBase64(_ text: ArraySlice<UInt8>, into output: inout [UInt8]) -> Bool {
        guard text.count % 4 == 0 else {
            return false
        }
        var index = text.startIndex
        while index < text.endIndex {
            let isLastQuad = index + 4 == text.endIndex
            var quad: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = text[index + offset]
                let value: UInt32
                switch character {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(character - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(character - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(character - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): value = 62
                case UInt8(ascii: "/"): value = 63
                case UInt8(ascii: "=") where isLastQuad && offset >= 2:
                    value = 0
                    padding += 1
                default: return false
                }
                if padding > 0, character != UInt8(ascii: "=") {
                    return false  // data after padding
                }
                quad = quad << 6 | value
            }
            output.append(UInt8(truncatingIfNeeded: quad >> 16))
            if padding < 2 {
                output.append(UInt8(truncatingIfNeeded: quad >> 8))
            }
            if padding < 1 {
                output.append(UInt8(truncatingIfNeeded: quad))
            }
            index += 4
        }
        return true
    }
}
