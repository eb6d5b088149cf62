/// What to count tokens of, and for which model.
///
/// ```swift
/// let prompt = TokenCountRequest(model: "gpt-4o", input: .prompt(messages: messages, tools: tools))
/// let plain = TokenCountRequest(model: "gpt-4o", input: .text("counted as is"))
/// let count = try await inference.countTokens(prompt)
/// ```
package struct TokenCountRequest: Sendable, Hashable {
    /// The public model name; it selects the tokenizer.
    package var model: String
    /// What to count.
    package var input: Input

    /// What a count covers.
    package enum Input: Sendable, Hashable {
        /// A chat prompt, counted with the chat format's per-message overhead, and the tools offered with it.
        case prompt(messages: [ChatMessage], tools: [ToolDefinition])
        /// Plain text, counted as is.
        case text(String)
    }

    /// Creates a count request.
    ///
    /// - Parameters:
    ///   - model: The public model name.
    ///   - input: What to count.
    package init(model: String, input: Input) {
        self.model = model
        self.input = input
    }
}
