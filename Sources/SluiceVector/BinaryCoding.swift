/// Appends little-endian values to a byte buffer: the encoding of WAL records and snapshots.
package struct BinaryWriter {
    /// The bytes written so far.
    package var bytes: [UInt8] = []

    /// Creates an empty writer.
    ///
    /// - Parameter capacity: Bytes to reserve.
    package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Appends an integer, little-endian.
    ///
    /// - Parameter value: The integer.
    package mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a float's bits.
    ///
    /// - Parameter value: The float.
    package mutating func write(_ value: Float) { write(value.bitPattern) }

    /// Appends a double's bits.
    ///
    /// - Parameter value: The double.
    package mutating func write(_ value: Double) { write(value.bitPattern) }

    /// Appends a length-prefixed (u32) UTF-8 string.
    ///
    /// - Parameter value: The string.
    package mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends floats' bits (the host is little-endian on every supported platform).
    ///
    /// - Parameter values: The floats.
    package mutating func write(floats values: UnsafeBufferPointer<Float>) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(values))
    }

    /// Appends raw bytes.
    ///
    /// - Parameter raw: The bytes.
    package mutating func write(raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// Appends a payload: u16 key count, then per key the key, a type tag and the value.
    ///
    /// - Parameter payload: The payload.
    package mutating func write(_ payload: Payload) {
        write(UInt16(payload.count))
        for (key, value) in payload.sorted(by: { $0.key < $1.key }) {
            write(key)
            switch value {
            case .string(let string):
                write(UInt8(1))
                write(string)
            case .int(let int):
                write(UInt8(2))
                write(int)
            case .double(let double):
                write(UInt8(3))
                write(double)
            case .bool(let bool):
                write(UInt8(4))
                write(UInt8(bool ? 1 : 0))
            case .stringList(let list):
                write(UInt8(5))
                write(UInt32(list.count))
                for string in list { write(string) }
            }
        }
    }
}

/// Reads what ``BinaryWriter`` wrote; every read checks bounds and throws ``BinaryReader/Truncated`` past the end.
package struct BinaryReader {
    /// Reading past the end, or a length that does not fit.
    package struct Truncated: Error, CustomStringConvertible {
        /// A readable form.
        package var description: String { "truncated or malformed binary data" }
    }

    private let base: UnsafeRawBufferPointer
    /// The read position.
    package private(set) var offset: Int

    /// Creates a reader over bytes that outlive it.
    ///
    /// - Parameters:
    ///   - bytes: The bytes.
    ///   - offset: Where to start.
    package init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = bytes
        self.offset = offset
    }

    /// Bytes left.
    package var remaining: Int { base.count - offset }

    /// Reads an integer.
    ///
    /// - Returns: The integer.
    package mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw Truncated() }
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    /// Reads a float.
    package mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }

    /// Reads a double.
    package mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// Reads a length-prefixed UTF-8 string.
    package mutating func readString() throws -> String {
        let length = Int(try read(UInt32.self))
        guard remaining >= length else { throw Truncated() }
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: base[offset..<offset + length]), as: UTF8.self)
        offset += length
        return string
    }

    /// Reads raw bytes.
    ///
    /// - Parameter count: How many.
    /// - Returns: A view of them, valid while the underlying bytes are.
    package mutating func readRaw(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw Truncated() }
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
        offset += count
        return slice
    }

    /// Reads `count` floats into a new array.
    ///
    /// - Parameter count: How many.
    /// - Returns: The floats.
    package mutating func readFloats(_ count: Int) throws -> [Float] {
        let raw = try readRaw(count * 4)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            initialized = count
        }
    }

    /// Reads a payload.
    package mutating func readPayload() throws -> Payload {
        let count = Int(try read(UInt16.self))
        var payload = Payload(minimumCapacity: count)
        for _ in 0..<count {
            let key = try readString()
            switch try read(UInt8.self) {
            case 1: payload[key] = .string(try readString())
            case 2: payload[key] = .int(try read(Int64.self))
            case 3: payload[key] = .double(try readDouble())
            case 4: payload[key] = .bool(try read(UInt8.self) != 0)
            case 5:
                let length = Int(try read(UInt32.self))
                guard length <= remaining / 4 else { throw Truncated() }
                var list: [String] = []
                list.reserveCapacity(length)
                for _ in 0..<length { list.append(try readString()) }
                payload[key] = .stringList(list)
            default: throw Truncated()
            }
        }
        return payload
    }
}
