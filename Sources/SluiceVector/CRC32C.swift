/// CRC-32C (Castagnoli), the checksum of WAL records and snapshots.
package enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { byte -> UInt32 in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// Extends a running checksum with bytes.
    ///
    /// - Parameters:
    ///   - bytes: The bytes.
    ///   - crc: The checksum so far (0 to start).
    /// - Returns: The checksum including `bytes`.
    package static func update(_ bytes: UnsafeRawBufferPointer, crc: UInt32 = 0) -> UInt32 {
        var value = ~crc
        table.withUnsafeBufferPointer { table in
            for byte in bytes { value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8) }
        }
        return ~value
    }

    /// The checksum of a byte array.
    ///
    /// - Parameter bytes: The bytes.
    /// - Returns: Their CRC-32C.
    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update($0) }
    }
}
