import Metrics

/// The edge's metrics, through swift-metrics (Prometheus in `sluice serve`).
///
/// - `sluice_http_requests_total{route,status}`
/// - `sluice_http_request_duration_seconds{route}` (histogram)
/// - `sluice_tokens_total{model,type}` with `type` `prompt` or `completion`
enum EdgeMetrics {
    static func request(route: String, status: Int, duration: Duration) {
        Counter(label: "sluice_http_requests_total", dimensions: [("route", route), ("status", String(status))])
            .increment()
        Metrics.Timer(label: "sluice_http_request_duration_seconds", dimensions: [("route", route)])
            .recordNanoseconds(
                Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            )
    }

    static func tokens(model: String, prompt: Int, completion: Int) {
        Counter(label: "sluice_tokens_total", dimensions: [("model", model), ("type", "prompt")]).increment(by: prompt)
        Counter(label: "sluice_tokens_total", dimensions: [("model", model), ("type", "completion")])
            .increment(by: completion)
    }
}
