/// The inference service: chat with any configured model, streamed or not.
///
/// ``LocalInferenceService`` implements it in process; the gRPC adapter serves it and implements it again
/// as a client, so the edge works the same against either.
///
/// ```swift
/// let stream = try await inference.openChatStream(request)
/// print("served by", stream.servedBy.provider)
/// for try await event in stream.events {
///     if case .delta(let delta) = event { print(delta.content ?? "", terminator: "") }
/// }
/// ```
package protocol InferenceService: Sendable {
    /// Answers a chat request in one piece.
    ///
    /// - Parameter request: The request.
    /// - Returns: The complete answer, with usage.
    /// - Throws: ``InferenceError``.
    func chat(_ request: ChatRequest) async throws -> ChatResponse

    /// Opens a streamed answer.
    ///
    /// Routing, retries and fallbacks happen before this returns; once it has returned, a failure ends the
    /// stream with ``InferenceError/Code/streamInterrupted`` or another error, never with a clean finish.
    ///
    /// - Parameter request: The request.
    /// - Returns: The open stream.
    /// - Throws: ``InferenceError`` when no deployment could start answering.
    func openChatStream(_ request: ChatRequest) async throws -> ChatStream

    /// Lists the configured public models.
    ///
    /// - Returns: Every configured model, in configuration order.
    func listModels() async throws -> [ModelDescriptor]

    /// Counts tokens as the model would see them: a chat prompt with its tools, or plain text as is.
    ///
    /// - Parameter request: The model and what to count.
    /// - Returns: The count, flagged when estimated.
    /// - Throws: ``InferenceError`` with `modelNotFound` for an unknown model.
    func countTokens(_ request: TokenCountRequest) async throws -> TokenCountResult
}

/// A public model as the inference service offers it.
package struct ModelDescriptor: Sendable, Hashable {
    /// The public model name clients use.
    package var id: String
    /// The provider of the first deployment, shown as the model's owner.
    package var ownedBy: String
    /// The deployments tried in order.
    package var deployments: [Deployment]
    /// The tokenizer encoding counts use (`cl100k_base`), or `estimate` when counts are estimated.
    package var encoding: String

    /// Creates a model descriptor.
    ///
    /// - Parameters:
    ///   - id: The public model name.
    ///   - ownedBy: The provider shown as the owner.
    ///   - deployments: The deployments tried in order.
    ///   - encoding: The tokenizer encoding counts use.
    package init(id: String, ownedBy: String, deployments: [Deployment], encoding: String = "") {
        self.id = id
        self.ownedBy = ownedBy
        self.deployments = deployments
        self.encoding = encoding
    }

    /// A provider and the model name it knows the public model by.
    package struct Deployment: Sendable, Hashable {
        /// The configured provider name.
        package var provider: String
        /// The upstream model name.
        package var model: String
        /// The deployment's circuit breaker now.
        package var circuit: Circuit

        /// Creates a deployment.
        ///
        /// - Parameters:
        ///   - provider: The configured provider name.
        ///   - model: The upstream model name.
        ///   - circuit: The breaker's state.
        package init(provider: String, model: String, circuit: Circuit = .closed) {
            self.provider = provider
            self.model = model
            self.circuit = circuit
        }
    }

    /// A deployment's circuit breaker, as the catalog reports it.
    package enum Circuit: Sendable, Hashable {
        /// Calls flow.
        case closed
        /// Calls are skipped until the cool-down ends.
        case open
        /// The cool-down ended: the next call tests recovery.
        case halfOpen
    }
}

/// The result of counting a prompt's tokens.
package struct TokenCountResult: Sendable, Hashable {
    /// The number of tokens.
    package var tokens: Int
    /// Whether the count is an estimate rather than the model's own tokenizer.
    package var isEstimated: Bool
    /// The encoding used, for example `cl100k_base`, or `estimate`.
    package var encoding: String

    /// Creates a count.
    ///
    /// - Parameters:
    ///   - tokens: The number of tokens.
    ///   - isEstimated: Whether the count is an estimate.
    ///   - encoding: The encoding used.
    package init(tokens: Int, isEstimated: Bool, encoding: String) {
        self.tokens = tokens
        self.isEstimated = isEstimated
        self.encoding = encoding
    }
}
