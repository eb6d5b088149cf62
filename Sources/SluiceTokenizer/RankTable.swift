/// An immutable open-addressing hash table from byte strings to BPE ranks, built for the encoder's hot path.
///
/// All token byte strings live in one buffer; a lookup hashes the probe bytes in place (eight bytes at a time),
/// compares a 32-bit tag and then the bytes, and allocates nothing. The table also answers the reverse question,
/// rank to bytes, for decoding.
// @unchecked Sendable: the buffers are allocated and filled in `init`, never written afterwards, and freed in
// `deinit`, so concurrent reads are safe.
final class RankTable: @unchecked Sendable {
    /// The rank returned for byte strings that are not tokens; larger than every real rank.
    static let absent = Int32.max

    /// Number of tokens.
    let count: Int
    /// Length in bytes of the longest token.
    let maxTokenLength: Int
    /// Largest rank in the table.
    let maxRank: Int
    /// A token's bytes and a rank that occurs twice, if the input had either; such a table must not be used.
    private(set) var duplicate: (bytes: [UInt8]?, rank: Int?) = (nil, nil)

    private let bytes: UnsafeMutableBufferPointer<UInt8>
    private let entryStart: UnsafeMutableBufferPointer<Int32>
    private let entryLength: UnsafeMutableBufferPointer<Int32>
    private let entryRank: UnsafeMutableBufferPointer<Int32>
    /// `0` for an empty slot, else `tag << 32 | (entry + 1)`.
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let slotMask: Int
    /// Entry index per rank, `-1` where no token has that rank.
    private let entryByRank: UnsafeMutableBufferPointer<Int32>
    /// Rank of every single byte, ``absent`` where the byte is not a token.
    private let byteRanks: UnsafeMutableBufferPointer<Int32>

    // MARK: - Initialisers

    /// Builds the table.
    ///
    /// - Parameters:
    ///   - tokenBytes: All token byte strings, one after another.
    ///   - tokens: For each token, the offset and length of its bytes in `tokenBytes`, and its rank (`0...Int32.max - 1`).
    init(tokenBytes: [UInt8], tokens: [(start: Int, length: Int, rank: Int)]) {
        count = tokens.count
        maxTokenLength = tokens.map(\.length).max() ?? 0
        maxRank = tokens.map(\.rank).max() ?? -1
        bytes = .allocate(capacity: max(tokenBytes.count, 1))
        _ = bytes.initialize(from: tokenBytes)
        entryStart = .allocate(capacity: max(count, 1))
        entryLength = .allocate(capacity: max(count, 1))
        entryRank = .allocate(capacity: max(count, 1))
        var slotCount = 16
        while slotCount < count * 2 + 2 {
            slotCount *= 2
        }
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0)
        slotMask = slotCount - 1
        entryByRank = .allocate(capacity: max(maxRank + 1, 1))
        entryByRank.initialize(repeating: -1)
        byteRanks = .allocate(capacity: 256)
        byteRanks.initialize(repeating: Self.absent)

        for (entry, token) in tokens.enumerated() {
            entryStart[entry] = Int32(token.start)
            entryLength[entry] = Int32(token.length)
            entryRank[entry] = Int32(token.rank)
            if entryByRank[token.rank] >= 0 {
                duplicate.rank = duplicate.rank ?? token.rank
            }
            entryByRank[token.rank] = Int32(entry)
            let pointer = UnsafePointer(bytes.baseAddress! + token.start)
            if lookup(pointer, count: token.length) != Self.absent {
                duplicate.bytes = duplicate.bytes ?? Array(UnsafeBufferPointer(start: pointer, count: token.length))
                continue
            }
            let hash = Self.hash(pointer, count: token.length)
            var slot = Int(truncatingIfNeeded: hash) & slotMask
            while slots[slot] != 0 {
                slot = (slot + 1) & slotMask
            }
            slots[slot] = (hash >> 32) << 32 | UInt64(entry + 1)
            if token.length == 1 {
                byteRanks[Int(pointer.pointee)] = Int32(token.rank)
            }
        }
    }

    deinit {
        bytes.deallocate()
        entryStart.deallocate()
        entryLength.deallocate()
        entryRank.deallocate()
        slots.deallocate()
        entryByRank.deallocate()
        byteRanks.deallocate()
    }

    // MARK: - Lookups

    /// Whether every single byte is a token, which byte-pair merging needs to always produce a result.
    var coversAllBytes: Bool {
        !byteRanks.contains(Self.absent)
    }

    /// The rank of a single byte, or ``absent``.
    @inline(__always)
    func rank(ofByte byte: UInt8) -> Int32 {
        byteRanks[Int(byte)]
    }

    /// The rank of a byte string, or ``absent`` if it is not a token.
    ///
    /// - Parameters:
    ///   - pointer: The first byte.
    ///   - count: The number of bytes.
    @inline(__always)
    func rank(_ pointer: UnsafePointer<UInt8>, count: Int) -> Int32 {
        if count > maxTokenLength {
            return Self.absent
        }
        return lookup(pointer, count: count)
    }

    /// The bytes of the token with `rank`, or `nil` if no token has it.
    func bytes(ofRank rank: Int) -> UnsafeBufferPointer<UInt8>? {
        guard rank >= 0, rank < entryByRank.count else {
            return nil
        }
        let entry = Int(entryByRank[rank])
        guard entry >= 0 else {
            return nil
        }
        return UnsafeBufferPointer(start: bytes.baseAddress! + Int(entryStart[entry]), count: Int(entryLength[entry]))
    }

    @inline(__always)
    private func lookup(_ pointer: UnsafePointer<UInt8>, count: Int) -> Int32 {
        let hash = Self.hash(pointer, count: count)
        let tag = hash >> 32
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let value = slots[slot]
            if value == 0 {
                return Self.absent
            }
            if value >> 32 == tag {
                let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                if Int(entryLength[entry]) == count,
                    Self.equal(pointer, UnsafePointer(bytes.baseAddress! + Int(entryStart[entry])), count: count)
                {
                    return entryRank[entry]
                }
            }
            slot = (slot + 1) & slotMask
        }
    }

    // MARK: - Hashing

    /// A fast 64-bit hash of a short byte string (multiply–xorshift over 8-byte words).
    @inline(__always)
    private static func hash(_ pointer: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        let raw = UnsafeRawPointer(pointer)
        var hash = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            offset += 8
        }
        if offset < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                word |= UInt64(pointer[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ word) &* 0x94D0_49BB_1331_11EB
        }
        hash ^= hash >> 32
        hash &*= 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 29
        return hash
    }

    @inline(__always)
    private static func equal(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, count: Int) -> Bool {
        var offset = 0
        let left = UnsafeRawPointer(lhs)
        let right = UnsafeRawPointer(rhs)
        while offset + 8 <= count {
            if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < count {
            if lhs[offset] != rhs[offset] {
                return false
            }
            offset += 1
        }
        return true
    }
}
