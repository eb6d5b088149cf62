/// The edge's speed machinery, each piece switchable off (`performance` in the configuration).
///
/// Every piece here bypasses an anchor library's API for a measured gain; off, the edge runs on the anchor alone
/// (Hummingbird's `HTTP1Channel`, `JSONDecoder`). Decision record 0005 holds what each piece is worth.
package struct EdgeOptimizations: Sendable, Hashable {
    /// Serve connections with ``LoopHTTP1Channel`` (on their event loop) rather than Hummingbird's `HTTP1Channel`.
    package var eventLoopChannel: Bool
    /// Read chat requests with the fast `SluiceJSON` reader before `JSONDecoder`.
    package var fastJSON: Bool

    /// Creates the settings; every piece is on by default.
    ///
    /// - Parameters:
    ///   - eventLoopChannel: Whether connections are served by ``LoopHTTP1Channel``.
    ///   - fastJSON: Whether chat requests are read with the fast reader first.
    package init(eventLoopChannel: Bool = true, fastJSON: Bool = true) {
        self.eventLoopChannel = eventLoopChannel
        self.fastJSON = fastJSON
    }
}
