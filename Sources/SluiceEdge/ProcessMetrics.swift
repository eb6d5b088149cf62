import Metrics
package import Prometheus

/// The Prometheus registry every metric of the process lands in, rendered by `/metrics`.
///
/// Reading ``registry`` the first time bootstraps swift-metrics with it; a process (a test process too) does that
/// once, so every part of it reads the registry here.
package enum ProcessMetrics {
    /// The process's registry, bootstrapped on first use.
    package static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
