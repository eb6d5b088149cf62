package import SluiceTokenizer

/// Counts the tokens of prompts and completions for a given upstream model.
///
/// Models that use cl100k_base (GPT-4, GPT-3.5, the echo model) are counted exactly with the BPE encoding when
/// its ranks file is installed; every other model, or every model when the file is missing, gets the
/// documented estimator and the result is flagged as estimated.
package struct PromptTokenCounter: Sendable {
    /// The exact cl100k_base counter, when its ranks file is installed.
    package var cl100k: (any TokenCounter)?
    /// The fallback estimator.
    package var estimator: any TokenCounter

    /// Creates a counter.
    ///
    /// - Parameters:
    ///   - cl100k: The exact cl100k_base counter, if available.
    ///   - estimator: The fallback estimator.
    package init(cl100k: (any TokenCounter)?, estimator: any TokenCounter = EstimatingTokenCounter()) {
        self.cl100k = cl100k
        self.estimator = estimator
    }

    /// Extra tokens OpenAI's chat format adds per message and to prime the reply (OpenAI cookbook figures).
    static let tokensPerMessage = 3
    static let tokensPerName = 1
    static let replyPriming = 3

    /// The counter and encoding name for an upstream model.
    ///
    /// - Parameter upstreamModel: The model name the provider knows.
    /// - Returns: The counter to use and the name of its encoding.
    package func counter(forUpstreamModel upstreamModel: String) -> (counter: any TokenCounter, encoding: String) {
        if let cl100k, Self.usesCL100K(upstreamModel) { return (cl100k, "cl100k_base") }
        return (estimator, "estimate")
    }

    /// Whether an upstream model is known to use the cl100k_base encoding.
    ///
    /// - Parameter model: The upstream model name.
    /// - Returns: `true` for GPT-4 (not GPT-4o), GPT-3.5 and the echo model.
    package static func usesCL100K(_ model: String) -> Bool {
        let lowered = model.lowercased()
        if lowered == "echo" { return true }
        if lowered.hasPrefix("gpt-4o") || lowered.hasPrefix("gpt-4.1") { return false }
        return lowered.hasPrefix("gpt-4") || lowered.hasPrefix("gpt-3.5")
    }

    /// Counts a chat prompt as the model sees it, including the chat format's per-message overhead.
    ///
    /// - Parameters:
    ///   - messages: The prompt.
    ///   - tools: The tools offered with the prompt; each definition's name, description and parameter schema count.
    ///   - upstreamModel: The model name the provider knows.
    /// - Returns: The count; estimated unless the model's exact encoding was used.
    package func countPrompt(
        _ messages: [ChatMessage],
        tools: [ToolDefinition] = [],
        upstreamModel: String
    ) -> TokenCountResult {
        let (counter, encoding) = counter(forUpstreamModel: upstreamModel)
        var total = Self.replyPriming
        var estimated = counter.count("").isEstimated
        for tool in tools {
            for part in [tool.name, tool.description, tool.parametersJSON].compactMap(\.self) {
                total += counter.count(part).tokens
            }
        }
        for message in messages {
            total += Self.tokensPerMessage
            let counted = counter.count(message.role.rawValue + message.text)
            total += counted.tokens
            estimated = estimated || counted.isEstimated
            if let name = message.name {
                total += counter.count(name).tokens + Self.tokensPerName
            }
            for call in message.toolCalls {
                total += counter.count(call.name + call.arguments).tokens
            }
        }
        return TokenCountResult(tokens: total, isEstimated: estimated, encoding: encoding)
    }

    /// Counts plain text as is, with no chat-format overhead.
    ///
    /// - Parameters:
    ///   - text: The text.
    ///   - upstreamModel: The model name the provider knows.
    /// - Returns: The count; estimated unless the model's exact encoding was used.
    package func countText(_ text: String, upstreamModel: String) -> TokenCountResult {
        let (counter, encoding) = counter(forUpstreamModel: upstreamModel)
        let counted = counter.count(text)
        return TokenCountResult(tokens: counted.tokens, isEstimated: counted.isEstimated, encoding: encoding)
    }

    /// Counts generated text.
    ///
    /// - Parameters:
    ///   - text: The completion text, tool-call names and arguments included.
    ///   - upstreamModel: The model name the provider knows.
    /// - Returns: The number of tokens.
    package func countCompletion(_ text: String, upstreamModel: String) -> Int {
        counter(forUpstreamModel: upstreamModel).counter.count(text).tokens
    }
}
