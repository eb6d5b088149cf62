import Synchronization

/// Search counts and a window of recent latencies, for a collection's info.
package final class QueryStatistics: Sendable {
    private struct State {
        var queries = 0
        var window: [Double] = []
        var next = 0
    }

    private static let windowSize = 1024
    private let state = Mutex(State())

    /// Creates empty statistics.
    package init() {}

    /// Records one query.
    ///
    /// - Parameter milliseconds: Its latency.
    package func record(milliseconds: Double) {
        state.withLock { state in
            state.queries += 1
            if state.window.count < Self.windowSize {
                state.window.append(milliseconds)
            } else {
                state.window[state.next] = milliseconds
                state.next = (state.next + 1) % Self.windowSize
            }
        }
    }

    /// Queries served, and the median and 99th percentile latency of the last 1,024, in milliseconds.
    package var snapshot: (queries: Int, p50: Double, p99: Double) {
        let (queries, window) = state.withLock { ($0.queries, $0.window) }
        guard !window.isEmpty else { return (queries, 0, 0) }
        let sorted = window.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return (queries, percentile(0.5), percentile(0.99))
    }
}
