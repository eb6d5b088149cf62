/// Why a model stopped generating.
package enum FinishReason: String, Sendable, Hashable {
    /// A natural end or a stop sequence.
    case stop
    /// The token limit was reached.
    case length
    /// The model asked for tool calls.
    case toolCalls = "tool_calls"
    /// The provider filtered the content.
    case contentFilter = "content_filter"
}

/// Token counts of one call.
package struct Usage: Sendable, Hashable {
    /// Tokens in the prompt.
    package var promptTokens: Int
    /// Tokens generated.
    package var completionTokens: Int
    /// Whether Sluice counted these itself because the upstream did not report them.
    package var isEstimated: Bool
    /// Prompt tokens the provider served from its prompt cache (included in ``promptTokens``), priced at the
    /// cached-input price.
    package var cachedPromptTokens: Int

    /// Prompt plus completion tokens.
    package var totalTokens: Int { promptTokens + completionTokens }

    /// Creates a usage record.
    ///
    /// - Parameters:
    ///   - promptTokens: Tokens in the prompt.
    ///   - completionTokens: Tokens generated.
    ///   - isEstimated: Whether the counts were estimated locally.
    ///   - cachedPromptTokens: Prompt tokens served from the provider's cache.
    package init(promptTokens: Int, completionTokens: Int, isEstimated: Bool, cachedPromptTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.isEstimated = isEstimated
        self.cachedPromptTokens = cachedPromptTokens
    }
}

/// Where a call was served: the provider and upstream model that answered.
package struct ServedBy: Sendable, Hashable {
    /// The configured provider name, for example `openai` or `echo`.
    package var provider: String
    /// The upstream model name.
    package var model: String
    /// Which attempt answered, counting retries and fallbacks from 1.
    package var attempt: Int

    /// Creates a served-by record.
    ///
    /// - Parameters:
    ///   - provider: The configured provider name.
    ///   - model: The upstream model name.
    ///   - attempt: Which attempt answered, from 1.
    package init(provider: String, model: String, attempt: Int) {
        self.provider = provider
        self.model = model
        self.attempt = attempt
    }
}

/// A complete, non-streamed chat answer.
package struct ChatResponse: Sendable, Hashable {
    /// The completion id.
    package var id: String
    /// Creation time, in Unix seconds.
    package var created: Int64
    /// Which deployment answered.
    package var servedBy: ServedBy
    /// The assistant message.
    package var message: ChatMessage
    /// Why generation stopped.
    package var finishReason: FinishReason
    /// Token counts; always present.
    package var usage: Usage

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - id: The completion id.
    ///   - created: Creation time in Unix seconds.
    ///   - servedBy: Which deployment answered.
    ///   - message: The assistant message.
    ///   - finishReason: Why generation stopped.
    ///   - usage: Token counts.
    package init(
        id: String,
        created: Int64,
        servedBy: ServedBy,
        message: ChatMessage,
        finishReason: FinishReason,
        usage: Usage
    ) {
        self.id = id
        self.created = created
        self.servedBy = servedBy
        self.message = message
        self.finishReason = finishReason
        self.usage = usage
    }
}
