/// An adapter that talks to one upstream provider: OpenAI, Azure OpenAI, Anthropic, an OpenAI-compatible
/// server, or the built-in echo model.
///
/// A provider translates one call; it does not retry, fall back or estimate usage: ``LocalInferenceService``
/// does that for every provider alike. Errors are ``InferenceError`` values whose code tells whether a retry
/// or a fallback may help.
///
/// ```swift
/// struct Constant: ChatProvider {
///     let name = "constant"
///     func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply {
///         ProviderReply(message: ChatMessage(role: .assistant, text: "42"), finishReason: .stop, usage: nil)
///     }
///     func openStream(_ request: ChatRequest, upstreamModel: String) async throws -> ChatEvents {
///         ChatEvents(
///             AsyncThrowingStream { $0.yield(.delta(ChatDelta(content: "42"))); $0.yield(.finish(.stop)); $0.finish() }
///         )
///     }
/// }
/// ```
package protocol ChatProvider: Sendable {
    /// The configured provider name.
    var name: String { get }

    /// Answers in one piece.
    ///
    /// - Parameters:
    ///   - request: The request, with `model` still the public name.
    ///   - upstreamModel: The model name the provider knows.
    /// - Returns: The answer; `usage` is `nil` when the upstream did not report it.
    func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply

    /// Starts a streamed answer.
    ///
    /// Throws before returning when the upstream refuses the call (status, connect error), so that the caller
    /// can retry or fall back. The returned events may lack `usage`; they end with `finish` unless the
    /// upstream broke off, in which case the stream ends without it or throws.
    ///
    /// - Parameters:
    ///   - request: The request, with `model` still the public name.
    ///   - upstreamModel: The model name the provider knows.
    /// - Returns: The upstream's events; a provider that reads them from an iterator of its own pulls them with
    ///   ``ChatEvents/init(pulling:)``.
    func openStream(
        _ request: ChatRequest,
        upstreamModel: String
    ) async throws
        -> ChatEvents
}

/// A provider's complete answer, before Sluice fills in usage.
package struct ProviderReply: Sendable, Hashable {
    /// The assistant message.
    package var message: ChatMessage
    /// Why generation stopped.
    package var finishReason: FinishReason
    /// Usage as the upstream reported it, or `nil`.
    package var usage: Usage?
    /// The upstream's own completion id, if any.
    package var upstreamID: String?

    /// Creates a reply.
    ///
    /// - Parameters:
    ///   - message: The assistant message.
    ///   - finishReason: Why generation stopped.
    ///   - usage: Usage as the upstream reported it.
    ///   - upstreamID: The upstream's completion id.
    package init(message: ChatMessage, finishReason: FinishReason, usage: Usage?, upstreamID: String? = nil) {
        self.message = message
        self.finishReason = finishReason
        self.usage = usage
        self.upstreamID = upstreamID
    }
}
