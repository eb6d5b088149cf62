/// Something that counts the tokens of a text for one encoding.
///
/// Conformers are cheap to call from many tasks at once. Counting a chat prompt (per-message overhead, role
/// names) is the caller's business: it counts each part with a `TokenCounter` and adds the encoding's fixed costs.
///
/// ```swift
/// struct PromptCost {
///     let counter: any TokenCounter
///
///     func tokens(in messages: [String]) -> TokenCount {
///         messages.reduce(TokenCount(tokens: 0, isEstimated: false)) { total, message in
///             let count = counter.count(message)
///             return TokenCount(tokens: total.tokens + count.tokens, isEstimated: total.isEstimated || count.isEstimated)
///         }
///     }
/// }
/// ```
package protocol TokenCounter: Sendable {
    /// Counts the tokens of `text`.
    ///
    /// Special-token text such as `<|endoftext|>` counts as ordinary text, as it does in a user's prompt.
    ///
    /// - Parameters:
    ///   - text: The text to count.
    /// - Returns: The number of tokens, flagged when it is an estimate.
    func count(_ text: String) -> TokenCount
}
