/// SIMD distance kernels over float32 vectors whose length is a multiple of 16.
///
/// Vectors are stored padded with zeros to ``paddedLength(_:)``, so the kernels run whole 16-lane chunks without a
/// scalar tail, and zero padding changes neither inner products nor squared distances. Two accumulators per kernel
/// keep the adds of consecutive chunks independent.
///
/// ```swift
/// let stride = VectorKernels.paddedLength(384)            // 384
/// let d = VectorKernels.negatedDot(a, b, count: stride)
/// ```
package enum VectorKernels {
    /// Lanes per SIMD chunk.
    package static let lanes = 16

    /// The stored length of a vector of `dimension` components: rounded up to a multiple of ``lanes``.
    ///
    /// - Parameter dimension: The vector length.
    /// - Returns: The padded length.
    @inlinable
    package static func paddedLength(_ dimension: Int) -> Int {
        (dimension + lanes - 1) / lanes * lanes
    }

    /// The inner product of two padded vectors.
    ///
    /// - Parameters:
    ///   - a: The first vector.
    ///   - b: The second vector.
    ///   - count: Their padded length, a multiple of ``lanes``.
    /// - Returns: `a · b`.
    @inlinable @inline(__always)
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var offset = 0
        let bytes = count &* 4
        while offset &+ 128 <= bytes {
            sum0 +=
                ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sum1 +=
                ra.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            offset &+= 128
        }
        if offset < bytes {
            sum0 +=
                ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        }
        return horizontalSum(sum0 + sum1)
    }

    /// Adds the lanes of a vector by halving it (four vector adds) rather than lane by lane, which shortens the
    /// dependency chain at the end of every distance from fifteen scalar adds to five adds.
    ///
    /// - Parameter vector: The lanes.
    /// - Returns: Their sum.
    @inlinable @inline(__always)
    package static func horizontalSum(_ vector: SIMD16<Float>) -> Float {
        let eight = vector.lowHalf + vector.highHalf
        let four = eight.lowHalf + eight.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// The negated inner product, the distance used by cosine and dot-product collections.
    ///
    /// - Parameters:
    ///   - a: The first vector.
    ///   - b: The second vector.
    ///   - count: Their padded length, a multiple of ``lanes``.
    /// - Returns: `-(a · b)`.
    @inlinable @inline(__always)
    package static func negatedDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        -dot(a, b, count: count)
    }

    /// The squared Euclidean distance of two padded vectors.
    ///
    /// - Parameters:
    ///   - a: The first vector.
    ///   - b: The second vector.
    ///   - count: Their padded length, a multiple of ``lanes``.
    /// - Returns: `|a - b|²`.
    @inlinable @inline(__always)
    package static func squaredL2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let ra = UnsafeRawPointer(a)
        let rb = UnsafeRawPointer(b)
        var sum0 = SIMD16<Float>()
        var sum1 = SIMD16<Float>()
        var offset = 0
        let bytes = count &* 4
        while offset &+ 128 <= bytes {
            let d0 =
                ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            let d1 =
                ra.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            sum0 += d0 * d0
            sum1 += d1 * d1
            offset &+= 128
        }
        if offset < bytes {
            let d0 =
                ra.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                - rb.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sum0 += d0 * d0
        }
        return horizontalSum(sum0 + sum1)
    }

    /// Scales a vector to unit length in place; a zero vector stays zero.
    ///
    /// - Parameters:
    ///   - vector: The vector.
    ///   - count: Its padded length, a multiple of ``lanes``.
    @inlinable
    package static func normalize(_ vector: UnsafeMutablePointer<Float>, count: Int) {
        let norm = dot(vector, vector, count: count).squareRoot()
        guard norm > 0, norm.isFinite else { return }
        let scale = 1 / norm
        for index in 0..<count { vector[index] *= scale }
    }
}

/// A distance function the search code is specialized over, so the kernel call inlines into the hot loop.
package protocol DistanceKernel {
    /// The distance between two padded vectors; smaller is closer.
    ///
    /// - Parameters:
    ///   - a: The first vector.
    ///   - b: The second vector.
    ///   - count: Their padded length.
    /// - Returns: The distance.
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float
}

/// The negated inner product (cosine on normalized vectors, and dot product).
package enum NegatedDotKernel: DistanceKernel {
    /// `-(a · b)`.
    @inlinable @inline(__always)
    package static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        VectorKernels.negatedDot(a, b, count: count)
    }
}

/// The squared Euclidean distance.
package enum SquaredL2Kernel: DistanceKernel {
    /// `|a - b|²`.
    @inlinable @inline(__always)
    package static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        VectorKernels.squaredL2(a, b, count: count)
    }
}
