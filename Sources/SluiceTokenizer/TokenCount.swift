/// How many tokens a text takes, and whether that number is exact.
///
/// An exact count comes from a real tokenizer (``BPEEncoding``); an estimated one from
/// ``EstimatingTokenCounter``, for encodings Sluice does not ship. Quota and billing code should surface
/// ``isEstimated`` rather than treat both alike.
package struct TokenCount: Hashable, Sendable {
    /// The number of tokens.
    package var tokens: Int
    /// Whether ``tokens`` is an estimate rather than the tokenizer's exact count.
    package var isEstimated: Bool

    /// Creates a count.
    ///
    /// - Parameters:
    ///   - tokens: The number of tokens.
    ///   - isEstimated: Whether the number is an estimate.
    package init(tokens: Int, isEstimated: Bool) {
        self.tokens = tokens
        self.isEstimated = isEstimated
    }
}
