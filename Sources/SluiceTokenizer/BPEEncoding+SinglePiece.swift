extension BPEEncoding {
    /// How ``encodeSinglePiece(_:strategy:)`` merges a piece that is not a token by itself.
    package enum MergeStrategy: Sendable {
        /// Pick by length, as the encoder does.
        case automatic
        /// Always rescan all pairs after each merge (tiktoken's algorithm).
        case scan
        /// Always use the heap.
        case heap
    }

    /// Byte-pair encodes one piece without pre-tokenizing it, like tiktoken's `_encode_single_piece`.
    ///
    /// Meant for tests and diagnostics: ``encodeOrdinary(_:)`` is what callers want.
    ///
    /// - Parameters:
    ///   - piece: The piece's bytes.
    ///   - strategy: The merge algorithm; all strategies give the same result.
    /// - Returns: The token ids.
    package func encodeSinglePiece(_ piece: [UInt8], strategy: MergeStrategy = .automatic) -> [Int] {
        piece.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress else {
                return []
            }
            if bytes.count == 1 {
                return [Int(table.rank(ofByte: base[0]))]
            }
            let wholeRank = table.rank(base, count: bytes.count)
            if wholeRank != RankTable.absent {
                return [Int(wholeRank)]
            }
            var tokens: [Int] = []
            switch strategy {
            case .automatic: BytePairMerge.encode(base, count: bytes.count, table: table, into: &tokens)
            case .scan: BytePairMerge.encodeByScanning(base, count: bytes.count, table: table, into: &tokens)
            case .heap: BytePairMerge.encodeWithHeap(base, count: bytes.count, table: table, into: &tokens)
            }
            return tokens
        }
    }
}
