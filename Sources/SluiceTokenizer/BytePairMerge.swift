/// Byte-pair merging of one pre-tokenizer piece into token ranks.
///
/// Starting from single bytes, the adjacent pair whose concatenation has the lowest rank is merged, the leftmost
/// one on a tie, until no adjacent pair is a token. This is tiktoken's `byte_pair_encode`. Short pieces use
/// tiktoken's own scan (quadratic, but fastest for the usual few bytes); long ones — a CJK sentence is a single
/// piece, a whitespace run can be any length — use a heap and a linked list, which picks the same pair at every
/// step in O(n log n).
enum BytePairMerge {
    /// Pieces longer than this many bytes are merged with the heap.
    static let heapThreshold = 256

    /// Appends the ranks of `piece` to `tokens`.
    ///
    /// - Parameters:
    ///   - piece: The piece's first byte.
    ///   - count: The piece's length in bytes, at least 2.
    ///   - table: The ranks; every single byte must be a token.
    ///   - tokens: Receives the ranks, in order.
    @inline(__always)
    static func encode(_ piece: UnsafePointer<UInt8>, count: Int, table: RankTable, into tokens: inout [Int]) {
        if count > heapThreshold {
            encodeWithHeap(piece, count: count, table: table, into: &tokens)
        } else {
            encodeByScanning(piece, count: count, table: table, into: &tokens)
        }
    }

    // MARK: - Scan

    private struct Part {
        var start: Int
        /// The rank of this part's bytes.
        var rank: Int32
        /// The rank of this part joined with the next one.
        var pairRank: Int32
    }

    /// tiktoken's algorithm: rescan all pairs for the minimum after every merge.
    ///
    /// - Parameters:
    ///   - piece: The piece's first byte.
    ///   - count: The piece's length in bytes, at least 2.
    ///   - table: The ranks; every single byte must be a token.
    ///   - tokens: Receives the ranks, in order.
    static func encodeByScanning(_ piece: UnsafePointer<UInt8>, count: Int, table: RankTable, into tokens: inout [Int])
    {
        let absent = RankTable.absent
        withUnsafeTemporaryAllocation(of: Part.self, capacity: count + 1) { parts in
            // parts[0..<partCount] are real; parts[partCount] is a sentinel holding the end offset.
            var partCount = count
            var minRank = absent
            var minIndex = 0
            for index in 0..<count {
                let pairRank = index + 1 < count ? table.rank(piece + index, count: 2) : absent
                parts.initializeElement(
                    at: index,
                    to: Part(start: index, rank: table.rank(ofByte: piece[index]), pairRank: pairRank)
                )
                if pairRank < minRank {
                    minRank = pairRank
                    minIndex = index
                }
            }
            parts.initializeElement(at: count, to: Part(start: count, rank: absent, pairRank: absent))

            while minRank != absent {
                let index = minIndex
                parts[index].rank = minRank
                for next in (index + 1)..<partCount {
                    parts[next] = parts[next + 1]
                }
                partCount -= 1
                parts[index].pairRank =
                    index + 1 < partCount
                    ? table.rank(piece + parts[index].start, count: parts[index + 2].start - parts[index].start)
                    : absent
                if index > 0 {
                    let start = parts[index - 1].start
                    parts[index - 1].pairRank = table.rank(piece + start, count: parts[index + 1].start - start)
                }
                minRank = absent
                for candidate in 0..<partCount where parts[candidate].pairRank < minRank {
                    minRank = parts[candidate].pairRank
                    minIndex = candidate
                }
            }
            for index in 0..<partCount {
                tokens.append(Int(parts[index].rank))
            }
            _ = parts.deinitialize()
        }
    }

    // MARK: - Heap

    /// The same merges as ``encodeByScanning(_:count:table:into:)``, found with a min-heap of `(rank, start)`.
    ///
    /// Parts are named by their start offset and linked both ways. A heap entry is stale once the pair rank
    /// stored for its part has changed; a part's pair rank only changes when its span grows, so a stale entry
    /// never matches again.
    ///
    /// - Parameters:
    ///   - piece: The piece's first byte.
    ///   - count: The piece's length in bytes, at least 2.
    ///   - table: The ranks; every single byte must be a token.
    ///   - tokens: Receives the ranks, in order.
    static func encodeWithHeap(_ piece: UnsafePointer<UInt8>, count: Int, table: RankTable, into tokens: inout [Int]) {
        let absent = RankTable.absent
        var rank = [Int32](repeating: absent, count: count)
        var pairRank = [Int32](repeating: absent, count: count)
        var next = [Int](repeating: count, count: count)
        var previous = [Int](repeating: -1, count: count)
        var heap = MinHeap(capacity: count)
        for index in 0..<count {
            rank[index] = table.rank(ofByte: piece[index])
            next[index] = index + 1
            previous[index] = index - 1
            if index + 1 < count {
                pairRank[index] = table.rank(piece + index, count: 2)
                heap.push(rank: pairRank[index], start: index)
            }
        }
        while let (mergedRank, start) = heap.popMin() {
            guard pairRank[start] == mergedRank else {
                continue  // stale
            }
            let absorbed = next[start]
            let following = next[absorbed]
            rank[start] = mergedRank
            pairRank[absorbed] = absent
            next[start] = following
            if following < count {
                previous[following] = start
                pairRank[start] = table.rank(piece + start, count: next[following] - start)
                heap.push(rank: pairRank[start], start: start)
            } else {
                pairRank[start] = absent
            }
            let before = previous[start]
            if before >= 0 {
                pairRank[before] = table.rank(piece + before, count: following - before)
                heap.push(rank: pairRank[before], start: before)
            }
        }
        var index = 0
        while index < count {
            tokens.append(Int(rank[index]))
            index = next[index]
        }
    }
}

/// A binary min-heap of `(rank, start)` pairs packed into `UInt64`, so comparing keys compares rank, then start.
private struct MinHeap {
    private var storage: [UInt64]

    init(capacity: Int) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// Adds an entry; absent ranks are ignored.
    mutating func push(rank: Int32, start: Int) {
        guard rank != RankTable.absent else {
            return
        }
        storage.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(start))
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else {
                break
            }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the lowest rank, lowest start first.
    mutating func popMin() -> (rank: Int32, start: Int)? {
        guard let top = storage.first else {
            return nil
        }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < storage.count else {
                    break
                }
                let right = left + 1
                let child = right < storage.count && storage[right] < storage[left] ? right : left
                guard storage[child] < storage[parent] else {
                    break
                }
                storage.swapAt(child, parent)
                parent = child
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int(truncatingIfNeeded: top & 0xFFFF_FFFF))
    }
}
