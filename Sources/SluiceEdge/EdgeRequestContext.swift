package import Hummingbird

/// The request context of every edge route: the request id and when the request arrived.
package struct EdgeRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    package var coreContext: CoreRequestContextStorage
    /// The request id: the client's `X-Request-Id` when it is well-formed, otherwise a new one.
    package var requestID: String = ""
    /// When the edge received the request, for `X-Sluice-Overhead-Ms` and latency metrics.
    package var receivedAt: ContinuousClock.Instant = .now

    /// Creates a context for a new request.
    ///
    /// - Parameter source: The connection the request arrived on.
    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
