import Metrics
import Synchronization

/// The edge's metrics, through swift-metrics (Prometheus in `sluice serve`).
///
/// - `sluice_http_requests_total{route,status}`
/// - `sluice_http_request_duration_seconds{route}` (histogram)
/// - `sluice_tokens_total{model,type}` with `type` `prompt` or `completion`
/// - `sluice_usage_queued_records`: usage records waiting for the ledger, after each batch the recorder takes
/// - `sluice_usage_spooled_records_total`: records written to the on-disk spool while governance was unreachable
/// - `sluice_usage_admission_waits_total`: requests that waited because the ledger was behind
///
/// Handles are made once per label set and kept: making one goes through the metrics factory's registry (a lock, the
/// label array hashed) on every request otherwise. Label sets are bounded: routes are the router's, statuses HTTP's,
/// models the configured ones (an unknown model never reports tokens). The metrics system must be bootstrapped before
/// the first request, as `sluice serve` and the test harness do by handing ``ProcessMetrics/registry`` to the edge.
enum EdgeMetrics {
    private struct RequestKey: Hashable {
        let route: String
        let status: Int
    }

    private struct RequestHandles {
        let count: Counter
        let duration: Metrics.Timer
    }

    private struct TokenHandles {
        let prompt: Counter
        let completion: Counter
    }

    private static let requestHandles = Mutex<[RequestKey: RequestHandles]>([:])
    private static let tokenHandles = Mutex<[String: TokenHandles]>([:])

    static func request(route: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, status: status)
        let handles = requestHandles.withLock { handles in
            if let existing = handles[key] { return existing }
            let made = RequestHandles(
                count: Counter(
                    label: "sluice_http_requests_total",
                    dimensions: [("route", route), ("status", String(status))]
                ),
                duration: Metrics.Timer(label: "sluice_http_request_duration_seconds", dimensions: [("route", route)])
            )
            handles[key] = made
            return made
        }
        handles.count.increment()
        handles.duration.recordNanoseconds(
            Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        )
    }

    static func tokens(model: String, prompt: Int, completion: Int) {
        let handles = tokenHandles.withLock { handles in
            if let existing = handles[model] { return existing }
            let made = TokenHandles(
                prompt: Counter(label: "sluice_tokens_total", dimensions: [("model", model), ("type", "prompt")]),
                completion: Counter(
                    label: "sluice_tokens_total",
                    dimensions: [("model", model), ("type", "completion")]
                )
            )
            handles[model] = made
            return made
        }
        handles.prompt.increment(by: prompt)
        handles.completion.increment(by: completion)
    }

    /// Usage records waiting for the ledger.
    static let usageQueued = Gauge(label: "sluice_usage_queued_records")
    /// Records written to the spool.
    static let usageSpooled = Counter(label: "sluice_usage_spooled_records_total")
    /// Requests that waited for the ledger.
    static let usageAdmissionWaits = Counter(label: "sluice_usage_admission_waits_total")
}
