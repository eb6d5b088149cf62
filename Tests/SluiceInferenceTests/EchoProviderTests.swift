import Foundation
import SluiceInference
import SluiceTesting
import Testing

@Suite("Echo provider")
struct EchoProviderTests {
    private let echo = EchoProvider(settings: .init(), tokens: .words)

    private static func request(_ messages: [ChatMessage]) -> ChatRequest {
        ChatRequest(model: "echo", messages: messages)
    }

    private static func collect(
        _ stream: ChatEvents
    ) async throws -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for try await event in stream { events.append(event) }
        return events
    }

    @Test("answers with the last user message and exact usage", .timeLimit(.minutes(1)))
    func echoesLastUserMessage() async throws {
        // Given a conversation whose last user message is "hello big world"
        let messages = [
            ChatMessage(role: .system, text: "be brief"),
            ChatMessage(role: .user, text: "first question"),
            ChatMessage(role: .assistant, text: "an answer"),
            ChatMessage(role: .user, text: "hello big world"),
        ]

        // When the echo model answers
        let reply = try await echo.chat(Self.request(messages), upstreamModel: "echo")

        // Then it repeats that message, stops naturally and reports exact usage
        #expect(reply.message.role == .assistant)
        #expect(reply.message.text == "hello big world")
        #expect(reply.message.toolCalls.isEmpty)
        #expect(reply.finishReason == .stop)
        let prompt = PromptTokenCounter.words.countPrompt(messages, upstreamModel: "echo")
        #expect(reply.usage == Usage(promptTokens: prompt.tokens, completionTokens: 3, isEstimated: false))
    }

    @Test("streams the answer word by word, then finish, then usage", .timeLimit(.minutes(1)))
    func streamsWords() async throws {
        // Given a user message of three words
        let request = Self.request([ChatMessage(role: .user, text: "hello big  world")])

        // When the echo model streams its answer
        let events = try await Self.collect(try await echo.openStream(request, upstreamModel: "echo"))

        // Then each word arrives with its leading white space, and the stream ends with finish and usage
        let prompt = PromptTokenCounter.words.countPrompt(request.messages, upstreamModel: "echo").tokens
        #expect(
            events == [
                .delta(ChatDelta(content: "hello")),
                .delta(ChatDelta(content: " big")),
                .delta(ChatDelta(content: "  world")),
                .finish(.stop),
                .usage(Usage(promptTokens: prompt, completionTokens: 3, isEstimated: false)),
            ]
        )
    }

    @Test(
        "honours max_tokens by finishing with length",
        .timeLimit(.minutes(1)),
        arguments: [
            (1, "one", FinishReason.length),
            (2, "one two", .length),
            (3, "one two three", .stop),
            (10, "one two three", .stop),
        ]
    )
    func maxTokens(limit: Int, expected: String, finish: FinishReason) async throws {
        // Given a three-word message and a token limit
        var request = Self.request([ChatMessage(role: .user, text: "one two three")])
        request.maxTokens = limit

        // When the echo model answers, in one piece and streamed
        let reply = try await echo.chat(request, upstreamModel: "echo")
        let events = try await Self.collect(try await echo.openStream(request, upstreamModel: "echo"))

        // Then it stops at the limit and says why
        #expect(reply.message.text == expected)
        #expect(reply.finishReason == finish)
        #expect(reply.usage?.completionTokens == min(limit, 3))
        var streamed = ""
        for case .delta(let delta) in events { streamed += delta.content ?? "" }
        #expect(streamed == expected)
        #expect(events.contains(.finish(finish)))
    }

    @Test(
        "calls the forced tool with the last user text as input",
        .timeLimit(.minutes(1)),
        arguments: [(ToolChoice.required, "get_weather"), (.function("lookup"), "lookup")]
    )
    func forcedToolCall(choice: ToolChoice, expectedTool: String) async throws {
        // Given tools and a tool choice that forces a call, and text that needs JSON escaping
        let text = "Paris, \"France\"\nback\\slash\t\u{1}"
        var request = Self.request([ChatMessage(role: .user, text: text)])
        request.tools = [ToolDefinition(name: "get_weather"), ToolDefinition(name: "lookup")]
        request.toolChoice = choice

        // When the echo model answers
        let reply = try await echo.chat(request, upstreamModel: "echo")

        // Then it calls the tool with {"input": text} and finishes with tool_calls
        #expect(reply.finishReason == .toolCalls)
        #expect(reply.message.text.isEmpty)
        let call = try #require(reply.message.toolCalls.first)
        #expect(reply.message.toolCalls.count == 1)
        #expect(call.name == expectedTool)
        #expect(!call.id.isEmpty)
        let arguments = try #require(
            try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: String]
        )
        #expect(arguments == ["input": text])
    }

    @Test("streams a forced tool call as id and name, then arguments", .timeLimit(.minutes(1)))
    func streamsToolCall() async throws {
        // Given a request that requires a tool
        var request = Self.request([ChatMessage(role: .user, text: "hi")])
        request.tools = [ToolDefinition(name: "get_weather")]
        request.toolChoice = .required

        // When the echo model streams
        let events = try await Self.collect(try await echo.openStream(request, upstreamModel: "echo"))

        // Then the call arrives in two fragments and the stream finishes with tool_calls
        let fragments = events.compactMap { event -> ToolCallDelta? in
            guard case .delta(let delta) = event else { return nil }
            return delta.toolCalls.first
        }
        #expect(fragments.count == 2)
        #expect(fragments.first?.name == "get_weather")
        #expect(fragments.first?.id != nil)
        #expect(fragments.last?.arguments == #"{"input":"hi"}"#)
        #expect(events.contains(.finish(.toolCalls)))
        guard case .usage = events.last else {
            Issue.record("the stream does not end with usage: \(events)")
            return
        }
    }

    @Test("answers with text when the tool choice leaves it to the model", .timeLimit(.minutes(1)))
    func autoToolChoiceAnswersText() async throws {
        // Given tools but tool choice auto
        var request = Self.request([ChatMessage(role: .user, text: "hi there")])
        request.tools = [ToolDefinition(name: "get_weather")]
        request.toolChoice = .auto

        // When the echo model answers
        let reply = try await echo.chat(request, upstreamModel: "echo")

        // Then it echoes the text
        #expect(reply.message.text == "hi there")
        #expect(reply.message.toolCalls.isEmpty)
        #expect(reply.finishReason == .stop)
    }

    @Test("says so when there is no user message", .timeLimit(.minutes(1)))
    func noUserMessage() async throws {
        // Given only a system message
        let request = Self.request([ChatMessage(role: .system, text: "you are helpful")])

        // When the echo model answers
        let reply = try await echo.chat(request, upstreamModel: "echo")

        // Then it answers with a placeholder
        #expect(reply.message.text == "(empty message)")
    }

    @Test("flags usage as estimated when cl100k_base is missing", .timeLimit(.minutes(1)))
    func estimatedWithoutTokenizer() async throws {
        // Given an echo model without the exact tokenizer
        let estimating = EchoProvider(settings: .init(), tokens: PromptTokenCounter(cl100k: nil))

        // When it answers
        let reply = try await estimating.chat(
            Self.request([ChatMessage(role: .user, text: "hello")]),
            upstreamModel: "echo"
        )

        // Then its usage is flagged as estimated
        #expect(reply.usage?.isEstimated == true)
        #expect((reply.usage?.promptTokens ?? 0) > 0)
    }

    @Test("waits the configured first-token delay", .timeLimit(.minutes(1)))
    func firstTokenDelay() async throws {
        // Given an echo model with a 200 ms first-token delay
        var settings = ProviderConfiguration.Echo()
        settings.firstTokenDelayMs = 200
        let slow = EchoProvider(settings: settings, tokens: .words)
        let clock = ContinuousClock()

        // When it answers
        let start = clock.now
        _ = try await slow.chat(Self.request([ChatMessage(role: .user, text: "hi")]), upstreamModel: "echo")

        // Then the answer took at least that long
        #expect(clock.now - start >= .milliseconds(180))
    }
}
