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
func exactNeighbors(
    of query: [Float],
    in points: [VectorPoint],
    metric: VectorMetric,
    k: Int,
    keep: (VectorPoint) -> Bool = { _ in true }
) -> [String] {
    func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }
    let q = metric == .cosine ? normalized(query) : query
    let scored = points.filter(keep).map { point -> (String, Float) in
        let v = metric == .cosine ? normalized(point.vector) : point.vector
        switch metric {
        case .l2: return (point.id, zip(q, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
        case .cosine, .dot: return (point.id, -zip(q, v).reduce(0) { $0 + $1.0 * $1.1 })
        }
    }
    return scored.sorted { $0.1 < $1.1 }.prefix(k).map(\.0)
}
