/// Which services a `sluice serve` process runs.
package enum ServeMode: String, Sendable, CaseIterable {
    /// Everything in one process, wired in process; the vector service also listens for gRPC clients.
    case all
    /// The inference service alone, over gRPC.
    case inference
    /// The governance service alone, over gRPC.
    case governance
    /// The vector service alone, over gRPC.
    case vector
    /// The HTTP edge alone; it dials inference and governance.
    case edge
}
