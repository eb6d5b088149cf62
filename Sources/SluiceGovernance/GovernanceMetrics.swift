import Metrics

/// Governance's metrics, under `sluice_governance_*`.
enum GovernanceMetrics {
    /// Calls to the limit store that failed (unreachable, timed out).
    static let limitStoreErrors = Counter(label: "sluice_governance_limit_store_errors_total")
    /// 1 while the limit store answers, 0 during an outage.
    static let limitStoreUp = Gauge(label: "sluice_governance_limit_store_up")

    /// Counts a failed call to the limit store.
    static func limitStoreFailed() { limitStoreErrors.increment() }

    /// Records whether the limit store answers.
    static func limitStore(up: Bool) { limitStoreUp.record(up ? 1 : 0) }
}
