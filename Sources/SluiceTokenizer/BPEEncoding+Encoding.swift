extension BPEEncoding {
    // MARK: - Encoding

    /// Encodes `text`, treating special-token text such as `<|endoftext|>` as ordinary text.
    ///
    /// This is tiktoken's `encode_ordinary`, and what a user's prompt costs.
    ///
    /// - Parameters:
    ///   - text: The text to encode.
    /// - Returns: The token ids.
    package func encodeOrdinary(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { bytes in
            var tokens: [Int] = []
            tokens.reserveCapacity(bytes.count / 3)
            appendOrdinaryTokens(of: bytes, from: 0, to: bytes.count, into: &tokens)
            return tokens
        }
    }

    /// Encodes `text`, mapping the allowed special tokens to their ids.
    ///
    /// Text of special tokens that are not allowed is encoded as ordinary text. With ``AllowedSpecialTokens/all``
    /// this is tiktoken's `encode(text, allowed_special="all")`.
    ///
    /// - Parameters:
    ///   - text: The text to encode.
    ///   - allowedSpecial: The special tokens to recognise.
    /// - Returns: The token ids.
    package func encode(_ text: String, allowedSpecial: AllowedSpecialTokens) -> [Int] {
        let allowed = specialTokens.filter { allowedSpecial.contains($0.text) }
        if allowed.isEmpty {
            return encodeOrdinary(text)
        }
        var text = text
        return text.withUTF8 { bytes in
            var tokens: [Int] = []
            tokens.reserveCapacity(bytes.count / 3)
            var start = 0
            while let (matchStart, special) = Self.firstSpecialToken(in: bytes, from: start, among: allowed) {
                appendOrdinaryTokens(of: bytes, from: start, to: matchStart, into: &tokens)
                tokens.append(special.id)
                start = matchStart + special.bytes.count
            }
            appendOrdinaryTokens(of: bytes, from: start, to: bytes.count, into: &tokens)
            return tokens
        }
    }

    // MARK: - Internals

    /// Pre-tokenizes `bytes[start..<end]` and appends the tokens of every piece.
    @inline(__always)
    private func appendOrdinaryTokens(
        of bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        into tokens: inout [Int]
    ) {
        guard start < end, let base = bytes.baseAddress else {
            return
        }
        let table = self.table
        CL100KPreTokenizer.forEachPiece(in: bytes, from: start, to: end) { pieceStart, pieceEnd in
            let count = pieceEnd - pieceStart
            if count == 1 {
                tokens.append(Int(table.rank(ofByte: base[pieceStart])))
                return
            }
            let wholeRank = table.rank(base + pieceStart, count: count)
            if wholeRank != RankTable.absent {
                tokens.append(Int(wholeRank))
                return
            }
            BytePairMerge.encode(base + pieceStart, count: count, table: table, into: &tokens)
        }
    }

    /// Finds the leftmost allowed special token in `bytes[start...]`.
    private static func firstSpecialToken(
        in bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        among specials: [SpecialToken]
    ) -> (start: Int, token: SpecialToken)? {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            for special in specials where special.bytes.first == byte && index + special.bytes.count <= bytes.count {
                if special.bytes.indices.allSatisfy({ bytes[index + $0] == special.bytes[$0] }) {
                    return (index, special)
                }
            }
            index += 1
        }
        return nil
    }
}
