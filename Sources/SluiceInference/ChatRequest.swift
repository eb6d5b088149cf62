/// A chat completion request in Sluice's provider-neutral shape.
///
/// `model` names a public model from the configuration; the inference service resolves it to an ordered list of
/// provider deployments.
///
/// ```swift
/// var request = ChatRequest(model: "echo", messages: [ChatMessage(role: .user, text: "hello")])
/// request.maxTokens = 64
/// let response = try await inference.chat(request)
/// ```
package struct ChatRequest: Sendable, Hashable {
    /// The public model name.
    package var model: String
    /// The conversation so far.
    package var messages: [ChatMessage]
    /// Functions the model may call.
    package var tools: [ToolDefinition]
    /// How the model may use the tools; `nil` leaves it to the provider.
    package var toolChoice: ToolChoice?
    /// Whether the model may ask for several tool calls at once; `nil` leaves it to the provider.
    package var parallelToolCalls: Bool?
    /// Sampling temperature, 0 to 2.
    package var temperature: Double?
    /// Nucleus sampling mass, 0 to 1.
    package var topP: Double?
    /// The most tokens to generate.
    package var maxTokens: Int?
    /// Sequences that end generation.
    package var stop: [String]
    /// A seed for providers that sample deterministically.
    package var seed: Int64?
    /// Presence penalty, -2 to 2.
    package var presencePenalty: Double?
    /// Frequency penalty, -2 to 2.
    package var frequencyPenalty: Double?
    /// The requested output format.
    package var responseFormat: ResponseFormat?
    /// An end-user id passed to providers for abuse tracking.
    package var user: String?
    /// Whether a stream ends with a usage event; `true` by default, as the edge needs it for the ledger. A gRPC
    /// caller that leaves `include_usage` unset gets none.
    package var includeUsage: Bool
    /// An explicit deployment override (`X-Sluice-Route`), allowed only where governance allows it.
    package var route: Route?
    /// The request id, propagated to logs and providers.
    package var requestID: String
    /// The tenant on whose behalf the call is made.
    package var tenantID: String

    /// Creates a request with the given model and messages and every option unset.
    ///
    /// - Parameters:
    ///   - model: The public model name.
    ///   - messages: The conversation so far.
    package init(model: String, messages: [ChatMessage]) {
        self.model = model
        self.messages = messages
        self.tools = []
        self.toolChoice = nil
        self.parallelToolCalls = nil
        self.temperature = nil
        self.topP = nil
        self.maxTokens = nil
        self.stop = []
        self.seed = nil
        self.presencePenalty = nil
        self.frequencyPenalty = nil
        self.responseFormat = nil
        self.user = nil
        self.includeUsage = true
        self.route = nil
        self.requestID = ""
        self.tenantID = ""
    }
}

extension ChatRequest {
    /// The output format a client asks for.
    package enum ResponseFormat: Sendable, Hashable {
        /// Free text.
        case text
        /// Any JSON object.
        case jsonObject
        /// JSON matching a schema, given as JSON text with its name.
        case jsonSchema(name: String, schemaJSON: String, strict: Bool?)
    }

    /// An explicit provider and upstream model that bypasses the model's deployment list.
    package struct Route: Sendable, Hashable {
        /// The configured provider name.
        package var provider: String
        /// The upstream model name; empty means the catalog's deployment of the requested model at the provider.
        package var model: String

        /// Creates a route.
        ///
        /// - Parameters:
        ///   - provider: The configured provider name.
        ///   - model: The upstream model name.
        package init(provider: String, model: String) {
            self.provider = provider
            self.model = model
        }
    }
}
