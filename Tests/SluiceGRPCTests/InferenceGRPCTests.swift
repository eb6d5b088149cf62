import SluiceInference
import SluiceInferenceGRPC
import Testing

@Suite("Inference over gRPC: unary calls", .timeLimit(.minutes(1)))
struct InferenceGRPCTests {
    /// A request that uses every field the domain has.
    static let fullRequest: ChatRequest = {
        var request = ChatRequest(
            model: "gpt-4o",
            messages: [
                ChatMessage(role: .system, text: "Be brief."),
                ChatMessage(role: .developer, text: "Use tools when useful."),
                ChatMessage(
                    role: .user,
                    content: [
                        .text("What is in this image?"), .imageURL(url: "data:image/png;base64,AAAA", detail: "high"),
                    ],
                    name: "ada"
                ),
                ChatMessage(
                    role: .assistant,
                    content: [],
                    toolCalls: [ToolCall(id: "call_1", name: "lookup", arguments: #"{"q":"cat"}"#)]
                ),
                ChatMessage(role: .tool, content: [.text(#"{"answer":"a cat"}"#)], toolCallID: "call_1"),
            ]
        )
        request.tools = [
            ToolDefinition(
                name: "lookup",
                description: "Looks things up",
                parametersJSON: #"{"type":"object","properties":{"q":{"type":"string"}}}"#,
                strict: true
            ),
            ToolDefinition(name: "noop"),
        ]
        request.toolChoice = .function("lookup")
        request.parallelToolCalls = false
        request.temperature = 0.25
        request.topP = 0.5
        request.maxTokens = 256
        request.stop = ["END"]
        request.seed = 7
        request.presencePenalty = -0.5
        request.frequencyPenalty = 1.5
        request.responseFormat = .jsonSchema(name: "answer", schemaJSON: #"{"type":"object"}"#, strict: false)
        request.user = "user-1"
        request.includeUsage = false
        request.route = ChatRequest.Route(provider: "azure-eastus", model: "gpt-4o-eu")
        request.requestID = "req-123"
        request.tenantID = "ten_acme"
        return request
    }()

    static let toolCallResponse = ChatResponse(
        id: "chatcmpl-1",
        created: 1_726_000_000,
        servedBy: ServedBy(provider: "openai", model: "gpt-4o-2024-08-06", attempt: 3),
        message: ChatMessage(
            role: .assistant,
            content: [.text("Let me look.")],
            toolCalls: [
                ToolCall(id: "call_2", name: "lookup", arguments: #"{"q":"dog"}"#),
                ToolCall(id: "call_3", name: "noop", arguments: "{}"),
            ]
        ),
        finishReason: .toolCalls,
        usage: Usage(promptTokens: 120, completionTokens: 17, isEstimated: true)
    )

    @Test("chat round trip preserves the request and the answer, tools and usage included", arguments: [false, true])
    func chatRoundTrip(exchange: Bool) async throws {
        // Given a server whose implementation answers with tool calls
        let fake = FakeInferenceService(chatResult: .success(Self.toolCallResponse))

        // When a client sends a request that uses every field
        let response = try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
            try await client.chat(Self.fullRequest)
        }

        // Then the implementation saw the same request and the client got the same answer
        #expect(fake.chatRequests == [Self.fullRequest])
        #expect(response == Self.toolCallResponse)
    }

    @Test(
        "other response formats and tool choices survive the wire",
        arguments: [
            (ToolChoice?.none, ChatRequest.ResponseFormat?.none),
            (ToolChoice.auto, ChatRequest.ResponseFormat.text),
            (ToolChoice.required, ChatRequest.ResponseFormat.jsonObject),
            (ToolChoice.none, ChatRequest.ResponseFormat.jsonSchema(name: "s", schemaJSON: "{}", strict: nil)),
        ]
    )
    func optionVariants(toolChoice: ToolChoice?, responseFormat: ChatRequest.ResponseFormat?) async throws {
        // Given a request with this tool choice and response format
        var request = ChatRequest(model: "echo", messages: [ChatMessage(role: .user, text: "hi")])
        request.toolChoice = toolChoice
        request.responseFormat = responseFormat
        let fake = FakeInferenceService(chatResult: .success(Self.toolCallResponse))

        // When it is sent
        _ = try await InProcessMesh.withInference(serving: fake) { client in try await client.chat(request) }

        // Then the implementation received it unchanged
        #expect(fake.chatRequests == [request])
    }

    @Test("a domain error from chat comes back as the same InferenceError", arguments: [false, true])
    func chatError(exchange: Bool) async throws {
        // Given an implementation that is rate limited upstream
        let expected = InferenceError(
            .upstreamRateLimited,
            "Rate limit reached for gpt-4o",
            retryAfter: .milliseconds(1500),
            provider: "openai"
        )
        let fake = FakeInferenceService(chatResult: .failure(expected))

        // When the client calls chat
        let error = await #expect(throws: InferenceError.self) {
            try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
                try await client.chat(Self.fullRequest)
            }
        }

        // Then it throws the same error: code, message, retry hint and provider
        #expect(error == expected)
    }

    @Test("models and token counts round trip")
    func modelsAndTokens() async throws {
        // Given a catalog with a fallback deployment
        let models = [
            ModelDescriptor(
                id: "gpt-4o-mini",
                ownedBy: "mock-openai",
                deployments: [
                    .init(provider: "mock-openai", model: "gpt-4o-mini"), .init(provider: "echo", model: "echo"),
                ]
            ),
            ModelDescriptor(id: "echo", ownedBy: "echo", deployments: [.init(provider: "echo", model: "echo")]),
        ]
        let fake = FakeInferenceService(models: models)
        let prompt = TokenCountRequest(
            model: "echo",
            input: .prompt(
                messages: [ChatMessage(role: .user, text: "count me")],
                tools: [ToolDefinition(name: "lookup", description: "Finds", parametersJSON: #"{"type":"object"}"#)]
            )
        )
        let text = TokenCountRequest(model: "echo", input: .text("plain text"))

        // When the client lists models and counts a prompt with tools, and plain text
        let (listed, count, _) = try await InProcessMesh.withInference(serving: fake) { client in
            (try await client.listModels(), try await client.countTokens(prompt), try await client.countTokens(text))
        }

        // Then everything comes back unchanged
        #expect(listed == models.sorted { $0.id < $1.id })
        #expect(count == TokenCountResult(tokens: 42, isEstimated: true, encoding: "cl100k_base"))
        #expect(fake.counted == [prompt, text])
    }

    @Test("a wrong internal token is refused and the right one accepted", arguments: [false, true])
    func internalToken(exchange: Bool) async throws {
        // Given a server that requires the token "s3cret"
        let fake = FakeInferenceService(chatResult: .success(Self.toolCallResponse))
        let request = ChatRequest(model: "echo", messages: [ChatMessage(role: .user, text: "hi")])

        // When a client with the wrong token calls
        let error = await #expect(throws: InferenceError.self) {
            try await InProcessMesh.withInference(
                serving: fake,
                serverToken: "s3cret",
                clientToken: "guess",
                exchange: exchange
            ) {
                client in
                try await client.chat(request)
            }
        }

        // Then the call fails as an unreachable service, before the implementation runs
        #expect(error?.code == .upstreamUnavailable)
        #expect(error?.message.contains("unauthenticated") == true)
        #expect(fake.chatRequests.isEmpty)

        // And a client with the right token gets through
        let response = try await InProcessMesh.withInference(
            serving: fake,
            serverToken: "s3cret",
            clientToken: "s3cret",
            exchange: exchange
        ) {
            client in try await client.chat(request)
        }
        #expect(response == Self.toolCallResponse)
    }
}
