import ArgumentParser
import Foundation
import SluiceVector

extension BenchCommand {
    /// Builds Sluice's HNSW index from an `.fvecs` file and measures recall, latency and build cost.
    ///
    /// `scripts/bench-vector.sh` runs it next to `hnswlib` on the same vectors and parameters. Queries run one at a
    /// time on one thread, through the same search path a collection's unfiltered query takes.
    struct Vector: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmark the HNSW index: build throughput, memory, recall@k, latency and QPS."
        )

        @Option(help: "Base vectors (.fvecs).") var base: String
        @Option(help: "Query vectors (.fvecs).") var queries: String
        @Option(help: "Exact neighbours of each query, closest first (.ivecs).") var truth: String
        @Option(help: "cosine, dot or l2.") var metric: String = "cosine"
        @Option(help: "Links per node (m).") var m = 16
        @Option(help: "Candidate list size while building.") var efConstruction = 200
        @Option(help: "Comma-separated candidate list sizes to query with.") var efSearch = "32,64,128"
        @Option(help: "Neighbours per query (recall@k).") var k = 10
        @Flag(help: "Print one JSON object instead of a table.") var json = false

        func run() throws {
            guard let metric = VectorMetric(rawValue: metric) else { throw ValidationError("unknown metric \(metric)") }
            let efValues = efSearch.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let baseVectors = try VectorFile.readFloats(base)
            let queryVectors = try VectorFile.readFloats(queries)
            let truthLists = try VectorFile.readIntegers(truth)
            guard let dimension = baseVectors.first?.count, truthLists.count >= queryVectors.count else {
                throw ValidationError("empty base file, or fewer truth lists than queries")
            }

            let parameters = HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efValues.first ?? 64)
            let graph = HNSWGraph(dimension: dimension, metric: metric, parameters: parameters)
            let scratch = SearchScratch()
            let residentBefore = ResidentMemory.bytes()
            let buildStart = ContinuousClock.now
            graph.reserveCapacity(baseVectors.count)
            // The id maps a collection keeps next to its graph, so time and memory include them.
            var slotByID: [String: UInt32] = [:]
            var ids: [String] = []
            for (index, vector) in baseVectors.enumerated() {
                let plan = graph.planInsert(vector, scratch: scratch)
                graph.apply(plan)
                let id = String(index)
                slotByID[id] = plan.node
                ids.append(id)
            }
            let buildSeconds = (ContinuousClock.now - buildStart).seconds
            let residentGrowth = ResidentMemory.bytes() - residentBefore

            var runs: [[String: Any]] = []
            for ef in efValues {
                _ = measure(graph, queryVectors, truthLists, ef: ef, scratch: scratch)  // warm-up
                runs.append(measure(graph, queryVectors, truthLists, ef: ef, scratch: scratch))
            }
            let report: [String: Any] = [
                "build_seconds": buildSeconds,
                "vectors": baseVectors.count,
                "dimension": dimension,
                "memory_bytes_per_vector": Double(
                    graph.memoryBytes + ids.capacity * 16 + slotByID.capacity * (MemoryLayout<String>.stride + 5)
                ) / Double(baseVectors.count),
                "rss_bytes_per_vector": Double(residentGrowth) / Double(baseVectors.count),
                "runs": runs,
            ]
            if json {
                let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("vectors \(baseVectors.count) × \(dimension), build \(String(format: "%.2f", buildSeconds)) s")
                for run in runs {
                    print(run.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                }
            }
        }

        private func measure(
            _ graph: HNSWGraph,
            _ queries: [[Float]],
            _ truth: [[Int32]],
            ef: Int,
            scratch: SearchScratch
        ) -> [String: Any] {
            var latencies: [Double] = []
            latencies.reserveCapacity(queries.count)
            var found: [[Neighbor]] = []
            found.reserveCapacity(queries.count)
            let acceptor = graph.liveNodes
            let total = ContinuousClock.now
            for query in queries {
                let start = ContinuousClock.now
                let padded = scratch.loadQuery(query, paddedLength: graph.stride, normalize: graph.metric == .cosine)
                found.append(graph.search(padded, k: k, ef: ef, acceptor: acceptor, scratch: scratch))
                latencies.append((ContinuousClock.now - start).seconds * 1_000_000)
            }
            let seconds = (ContinuousClock.now - total).seconds
            // Recall is scored after the timed loop, as the hnswlib side does.
            var hits = 0
            for (index, neighbors) in found.enumerated() {
                let expected = Set(truth[index].prefix(k).map { UInt32($0) })
                hits += neighbors.filter { expected.contains($0.node) }.count
            }
            latencies.sort()
            func percentile(_ p: Double) -> Double {
                latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            }
            return [
                "ef_search": ef,
                "recall_at_10": Double(hits) / Double(queries.count * k),
                "p50_us": percentile(0.5),
                "p99_us": percentile(0.99),
                "qps": Double(queries.count) / seconds,
            ]
        }
    }
}

/// Reads the `.fvecs` / `.ivecs` formats: per vector a little-endian int32 length, then that many float32 or int32.
enum VectorFile {
    static func readFloats(_ path: String) throws -> [[Float]] {
        try read(path) { raw, offset, count in
            (0..<count).map {
                Float(
                    bitPattern: UInt32(
                        littleEndian: raw.loadUnaligned(fromByteOffset: offset + $0 * 4, as: UInt32.self)
                    )
                )
            }
        }
    }

    static func readIntegers(_ path: String) throws -> [[Int32]] {
        try read(path) { raw, offset, count in
            (0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + $0 * 4, as: Int32.self)) }
        }
    }

    private static func read<T>(_ path: String, row: (UnsafeRawBufferPointer, Int, Int) -> [T]) throws -> [[T]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.withUnsafeBytes { raw in
            var rows: [[T]] = []
            var offset = 0
            while offset + 4 <= raw.count {
                let count = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                guard count > 0, offset + 4 + count * 4 <= raw.count else {
                    throw ValidationError("\(path) is not a valid vector file at byte \(offset)")
                }
                rows.append(row(raw, offset + 4, count))
                offset += 4 + count * 4
            }
            return rows
        }
    }
}

/// The process's resident set size, from `/proc/self/statm`.
enum ResidentMemory {
    static func bytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
