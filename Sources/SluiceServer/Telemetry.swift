import Logging
package import Prometheus
import SluiceEdge

/// Process-wide logging and metrics, bootstrapped once.
package enum Telemetry {
    /// The registry every metric of this process lands in, rendered by `/metrics`.
    package static var registry: PrometheusCollectorRegistry { ProcessMetrics.registry }

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
