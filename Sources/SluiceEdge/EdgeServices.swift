package import Logging
package import Prometheus
package import SluiceGovernance
package import SluiceInference
import Synchronization

/// What the edge talks to: the services behind it, the usage recorder, metrics and readiness.
///
/// The services are protocols, so the edge is the same whether they run in process or behind gRPC.
package struct EdgeServices: Sendable {
    /// Chat and models.
    package var inference: any InferenceService
    /// Keys, allow-lists and the ledger.
    package var governance: any GovernanceService
    /// Where usage records go, off the request path.
    package var usage: UsageRecorder
    /// The registry `/metrics` renders.
    package var metrics: PrometheusCollectorRegistry
    /// Whether `/health/ready` answers 200.
    package var readiness: Readiness
    /// The edge's logger.
    package var logger: Logger
    /// Counts prompts before governance admits them (tokens per minute, budgets) and what a cut stream delivered.
    package var tokens: PromptTokenCounter

    /// Creates the edge's dependencies.
    ///
    /// - Parameters:
    ///   - inference: Chat and models.
    ///   - governance: Keys, allow-lists and the ledger.
    ///   - usage: The usage recorder.
    ///   - metrics: The registry `/metrics` renders.
    ///   - readiness: The readiness flag.
    ///   - logger: The edge's logger.
    ///   - tokens: The token counter; without the cl100k ranks every count is estimated.
    package init(
        inference: any InferenceService,
        governance: any GovernanceService,
        usage: UsageRecorder,
        metrics: PrometheusCollectorRegistry,
        readiness: Readiness,
        logger: Logger,
        tokens: PromptTokenCounter = PromptTokenCounter(cl100k: nil)
    ) {
        self.inference = inference
        self.governance = governance
        self.usage = usage
        self.metrics = metrics
        self.readiness = readiness
        self.logger = logger
        self.tokens = tokens
    }
}

/// A flag that turns on when the process is serving and off when it starts shutting down.
///
/// A component still warming up (the vector store loading its collections) can ``hold()`` readiness off until it
/// calls ``release()``, whatever the flag says.
package final class Readiness: Sendable {
    private let ready = Atomic<Bool>(false)
    private let holds = Atomic<Int>(0)

    /// Creates a flag that is off.
    package init() {}

    /// Whether the process is ready: the flag is on and nothing holds it off.
    package var isReady: Bool { ready.load(ordering: .acquiring) && holds.load(ordering: .acquiring) == 0 }

    /// Keeps readiness off until a matching ``release()``.
    package func hold() { holds.add(1, ordering: .acquiringAndReleasing) }

    /// Ends one ``hold()``.
    package func release() { holds.subtract(1, ordering: .acquiringAndReleasing) }

    /// Sets the flag.
    ///
    /// - Parameter value: Whether the process is ready.
    package func set(_ value: Bool) { ready.store(value, ordering: .releasing) }
}
