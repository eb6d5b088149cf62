import ServiceLifecycle
package import SluiceVector

/// Loads the vector collections when it starts, snapshots the ones whose WAL got old while it runs, and closes them
/// on graceful shutdown.
///
/// Loading (snapshot, then WAL replay) runs while the gRPC server already answers: a collection still loading
/// reports `LOADING` and refuses other calls with `UNAVAILABLE`. Then, every `checkInterval`, each collection whose
/// WAL holds records and whose last snapshot is older than `snapshotInterval` takes one (``VectorStore/snapshotDue(interval:)``).
/// Closing takes a final snapshot of every collection whose WAL holds records, so the next start replays nothing.
/// Listed before the vector gRPC server, it is told to stop after the server has drained (a service group shuts
/// down in reverse order), so no write races the close.
///
/// ```swift
/// let vectors = try LocalVectorService.open(dataDirectory: url, configuration: configuration, logger: logger)
/// let store = VectorStoreService(store: vectors.store, snapshotInterval: .seconds(300))
/// let group = ServiceGroup(services: [store, vectorGRPCServer], logger: logger)
/// ```
package struct VectorStoreService<ServiceClock: Clock>: Service where ServiceClock.Duration == Duration {
    private let store: VectorStore
    private let snapshotInterval: Duration
    private let checkInterval: Duration
    private let clock: ServiceClock
    private let onLoaded: @Sendable () -> Void

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - store: The store; ``run()`` loads and closes it.
    ///   - snapshotInterval: The longest a write lives only in a WAL before its collection snapshots
    ///     (`vector.snapshot_interval_seconds`).
    ///   - checkInterval: How often collections are checked; at most 5 s, and never longer than `snapshotInterval`.
    ///   - clock: The clock the checks wait on.
    ///   - onLoaded: Called once every collection has loaded (or failed to): mode `vector` releases its readiness
    ///     hold here, so load balancers wait for the collections.
    package init(
        store: VectorStore,
        snapshotInterval: Duration,
        checkInterval: Duration = .seconds(5),
        clock: ServiceClock = ContinuousClock(),
        onLoaded: @escaping @Sendable () -> Void = {}
    ) {
        self.onLoaded = onLoaded
        self.store = store
        self.snapshotInterval = snapshotInterval
        self.checkInterval = min(checkInterval, snapshotInterval)
        self.clock = clock
    }

    /// Loads the collections, snapshots old WALs until graceful shutdown, then closes the collections.
    package func run() async throws {
        await store.loadAll()
        onLoaded()
        // Cancellation (rather than a graceful shutdown) closes the store too: snapshots are only an optimisation,
        // every acknowledged write is already in a WAL.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await clock.sleep(for: checkInterval)
                await store.snapshotDue(interval: snapshotInterval)
            }
        }
        await store.close()
    }
}
