import Synchronization

/// Adds up the time a request spent waiting for services, so the rest can be reported as Sluice's own
/// (`X-Sluice-Overhead-Ms`).
package final class ServiceTimer: Sendable {
    private let total = Mutex(Duration.zero)

    /// Creates a timer at zero.
    package init() {}

    /// The time counted so far.
    package var elapsed: Duration { total.withLock { $0 } }

    /// Counts time spent in a service.
    ///
    /// - Parameter duration: The time.
    package func add(_ duration: Duration) { total.withLock { $0 += duration } }
}
