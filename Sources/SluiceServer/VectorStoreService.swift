import ServiceLifecycle
import SluiceVector

/// Loads the vector collections when it starts, and closes them on graceful shutdown.
///
/// Loading (snapshot, then WAL replay) runs while the gRPC server already answers: a collection still loading
/// reports `LOADING` and refuses other calls with `UNAVAILABLE`. Closing takes a final snapshot of every collection
/// whose WAL holds records, so the next start replays nothing. Listed before the vector gRPC server, it is told to
/// stop after the server has drained (a service group shuts down in reverse order), so no write races the close.
struct VectorStoreService: Service {
    let store: VectorStore

    func run() async throws {
        await store.loadAll()
        // Cancellation (rather than a graceful shutdown) closes the store too: the snapshot is only an optimisation,
        // every acknowledged write is already in the WAL.
        try? await gracefulShutdown()
        await store.close()
    }
}
