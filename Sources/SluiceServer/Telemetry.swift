import Logging
import Metrics
package import Prometheus

/// Process-wide logging and metrics, bootstrapped once.
package enum Telemetry {
    /// The registry every metric of this process lands in, rendered by `/metrics`.
    package static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Sets up logging to standard error at a level, once per process.
    ///
    /// - Parameter level: The log level's name.
    package static func bootstrapLogging(level: String) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            LineLogHandler(label: label, level: level)
        }
    }
}
