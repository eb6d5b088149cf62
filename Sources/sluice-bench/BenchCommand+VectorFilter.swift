import ArgumentParser
import Foundation
import Logging
import SluiceVector

extension BenchCommand {
    /// Measures filtered queries: recall@k and latency at several filter selectivities, through a real collection.
    ///
    /// Every base vector gets the payload `bucket = index % 100`, so the filter `bucket < p` matches p % of the points.
    /// The collection is built through ``LocalVectorService`` in a temporary directory (WAL included); the exact
    /// filtered neighbours are computed here by brute force over the raw vectors, independently of the index.
    struct VectorFilter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vector-filter",
            abstract: "Benchmark filtered vector queries: recall@k and latency per filter selectivity."
        )

        @Option(help: "Base vectors (.fvecs).") var base: String
        @Option(help: "Query vectors (.fvecs).") var queries: String
        @Option(help: "cosine, dot or l2.") var metric: String = "cosine"
        @Option(help: "Comma-separated selectivities, in percent of the points.") var percent = "50,10,1"
        @Option(help: "Neighbours per query (recall@k).") var k = 10
        @Option(help: "Queries to run (at most the file's).") var limit = 1000

        func run() async throws {
            guard let metric = VectorMetric(rawValue: metric) else { throw ValidationError("unknown metric \(metric)") }
            let percents = percent.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let baseVectors = try VectorFile.readFloats(base)
            let queryVectors = Array(try VectorFile.readFloats(queries).prefix(limit))
            guard let dimension = baseVectors.first?.count else { throw ValidationError("empty base file") }

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-\(UUID())")
            defer { try? FileManager.default.removeItem(at: directory) }
            var logger = Logger(label: "sluice.bench.vector-filter")
            logger.logLevel = .warning
            let service = try LocalVectorService.open(dataDirectory: directory, logger: logger)
            _ = try await service.createCollection(.init(name: "bench", dimension: dimension, metric: metric))
            let buildStart = ContinuousClock.now
            for start in stride(from: 0, to: baseVectors.count, by: 1000) {
                let points = (start..<min(start + 1000, baseVectors.count)).map { index in
                    VectorPoint(
                        id: String(index),
                        vector: baseVectors[index],
                        payload: ["bucket": .int(Int64(index % 100))]
                    )
                }
                _ = try await service.upsert(collection: "bench", points: points, embeddingVersionTag: "")
            }
            let buildSeconds = (ContinuousClock.now - buildStart).seconds
            print(
                "collection of \(baseVectors.count) × \(dimension) built through the service (WAL fsynced per 1,000-point batch) in \(String(format: "%.1f", buildSeconds)) s"
            )
            print("| selectivity | matching points | recall@\(k) | p50 µs | p99 µs | QPS |")
            print("|---|---|---|---|---|---|")
            let exact = BruteForce(vectors: baseVectors, metric: metric)
            for percent in percents {
                let filter = SluiceVector.VectorFilter(must: [.range(key: "bucket", .init(lessThan: Double(percent)))])
                var latencies: [Double] = []
                var hits = 0
                let total = ContinuousClock.now
                var results: [[String]] = []
                for query in queryVectors {
                    let start = ContinuousClock.now
                    let found = try await service.query(
                        .init(collection: "bench", vector: query, topK: k, filter: filter)
                    )
                    latencies.append((ContinuousClock.now - start).seconds * 1_000_000)
                    results.append(found.points.map(\.id))
                }
                let seconds = (ContinuousClock.now - total).seconds
                for (query, ids) in zip(queryVectors, results) {
                    let truth = Set(exact.nearest(query, k: k) { $0 % 100 < percent }.map(String.init))
                    hits += ids.filter(truth.contains).count
                }
                latencies.sort()
                let p50 = latencies[latencies.count / 2]
                let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
                let matching = baseVectors.indices.filter { $0 % 100 < percent }.count
                print(
                    "| \(percent) % | \(matching) | \(String(format: "%.4f", Double(hits) / Double(queryVectors.count * k))) "
                        + "| \(Int(p50)) | \(Int(p99)) | \(Int(Double(queryVectors.count) / seconds)) |"
                )
            }
        }
    }
}

/// Exact nearest neighbours by scanning every vector, the reference filtered recall is measured against.
private struct BruteForce {
    let vectors: [[Float]]
    let metric: VectorMetric

    init(vectors: [[Float]], metric: VectorMetric) {
        self.metric = metric
        self.vectors = metric == .cosine ? vectors.map(Self.normalized) : vectors
    }

    static func normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// The indices of the `k` nearest vectors among those whose index passes `keep`, closest first.
    func nearest(_ query: [Float], k: Int, keep: (Int) -> Bool) -> [Int] {
        let query = metric == .cosine ? Self.normalized(query) : query
        var best: [(Float, Int)] = []
        for index in vectors.indices where keep(index) {
            let vector = vectors[index]
            var distance: Float = 0
            switch metric {
            case .l2: for i in query.indices { distance += (query[i] - vector[i]) * (query[i] - vector[i]) }
            case .cosine, .dot: for i in query.indices { distance -= query[i] * vector[i] }
            }
            if best.count < k {
                best.append((distance, index))
                best.sort { $0.0 < $1.0 }
            } else if distance < best[k - 1].0 {
                best[k - 1] = (distance, index)
                best.sort { $0.0 < $1.0 }
            }
        }
        return best.map(\.1)
    }
}
