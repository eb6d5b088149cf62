/// Decoding of Unicode scalars from valid UTF-8.
enum UTF8Scalars {
    /// Decodes the scalar that starts at `index`.
    ///
    /// The bytes must be valid UTF-8, as the contents of a Swift `String` always are.
    ///
    /// - Parameters:
    ///   - bytes: The UTF-8 text.
    ///   - index: The offset of the scalar's first byte.
    /// - Returns: The scalar value and its length in bytes.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int) {
        let lead = UInt32(bytes[index])
        if lead < 0x80 {
            return (lead, 1)
        }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            let value = (lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
            return (value, 3)
        }
        let value =
            (lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12 | UInt32(bytes[index + 2] & 0x3F) << 6
            | UInt32(bytes[index + 3] & 0x3F)
        return (value, 4)
    }
}
