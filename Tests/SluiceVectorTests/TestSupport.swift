import Foundation
import Logging

@testable import SluiceVector

/// A fresh temporary data directory, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-vector-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// Opens a vector service on a data directory and loads its collections.
func openService(
    _ directory: URL,
    configuration: VectorConfiguration = VectorConfiguration(),
    logger: Logger = Logger(label: "test")
) async throws -> LocalVectorService {
    let service = try LocalVectorService.open(dataDirectory: directory, configuration: configuration, logger: logger)
    await service.store.loadAll()
    return service
}

/// Points with clustered vectors and a payload: `bucket` (an int 0..<100 from the index), `tag` (a string), `even`.
func makePoints(_ count: Int, dimension: Int, seed: UInt64 = 11, prefix: String = "p") -> [VectorPoint] {
    let vectors = ClusteredVectors(count: count, dimension: dimension, clusters: max(count / 50, 2), seed: seed).vectors
    return vectors.enumerated().map { index, vector in
        VectorPoint(
            id: "\(prefix)\(index)",
            vector: vector,
            payload: [
                "bucket": .int(Int64(index % 100)),
                "tag": .string(index % 3 == 0 ? "fizz" : "plain"),
                "even": .bool(index % 2 == 0),
            ]
        )
    }
}

/// The ids of the `k` nearest points by exact search over `points` that pass `keep`.
///
/// Plain loops over the vectors' storage, no per-point copies or closures: the recall tests call this for every
/// query over thousands of points in a debug build, on the test run's shared threads.
func exactNeighbors(
    of query: [Float],
    in points: [VectorPoint],
    metric: VectorMetric,
    k: Int,
    keep: (VectorPoint) -> Bool = { _ in true }
) -> [String] {
    func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        var sum: Float = 0
        for i in 0..<a.count { sum += a[i] * b[i] }
        return sum
    }
    func squaredDistance(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        var sum: Float = 0
        for i in 0..<a.count {
            let d = a[i] - b[i]
            sum += d * d
        }
        return sum
    }
    var scored: [(index: Int, distance: Float)] = []
    scored.reserveCapacity(points.count)
    query.withUnsafeBufferPointer { q in
        let queryNorm = dot(q, q).squareRoot()
        for index in points.indices where keep(points[index]) {
            let distance = points[index].vector.withUnsafeBufferPointer { v -> Float in
                switch metric {
                case .l2:
                    return squaredDistance(q, v)
                case .dot:
                    return -dot(q, v)
                case .cosine:
                    let norms = queryNorm * dot(v, v).squareRoot()
                    return norms > 0 ? -dot(q, v) / norms : 0
                }
            }
            scored.append((index, distance))
        }
    }
    scored.sort { $0.distance < $1.distance }
    return scored.prefix(k).map { points[$0.index].id }
}
