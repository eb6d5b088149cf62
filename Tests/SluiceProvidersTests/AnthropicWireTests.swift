import Foundation
import SluiceInference
import Testing

@testable import SluiceProviders

@Suite("Anthropic request encoding")
struct AnthropicWireTests {
    private func body(_ request: ChatRequest, stream: Bool = false) throws -> JSONValue {
        try AnthropicWire.requestBody(request, upstreamModel: "claude-test", stream: stream)
    }

    private func json(_ text: String) throws -> JSONValue {
        try #require(JSONValue.parse(text))
    }

    // MARK: - Top-level fields

    @Test("sends model, default max_tokens and text turns as content blocks")
    func minimalRequest() throws {
        // Given
        let request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])

        // When
        let encoded = try body(request)

        // Then
        #expect(
            encoded
                == (try json(
                    #"""
                    {"model": "claude-test", "max_tokens": 4096,
                     "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
                    """#
                ))
        )
    }

    @Test("maps sampling options, stop, user and stream, and drops what Anthropic lacks")
    func options() throws {
        // Given
        var request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
        request.maxTokens = 100
        request.temperature = 0.5
        request.topP = 0.9
        request.stop = ["END", "STOP"]
        request.user = "user-7"
        request.seed = 42
        request.presencePenalty = 1
        request.frequencyPenalty = 1
        request.responseFormat = .jsonObject

        // When
        let encoded = try body(request, stream: true)

        // Then
        #expect(encoded["max_tokens"] == .number(100))
        #expect(encoded["temperature"] == .number(0.5))
        #expect(encoded["top_p"] == .number(0.9))
        #expect(encoded["stop_sequences"] == (try json(#"["END", "STOP"]"#)))
        #expect(encoded["metadata"] == (try json(#"{"user_id": "user-7"}"#)))
        #expect(encoded["stream"] == .bool(true))
        for dropped in ["seed", "presence_penalty", "frequency_penalty", "response_format", "stop", "user"] {
            #expect(encoded[dropped] == nil, "\(dropped) should not be sent")
        }
    }

    @Test("encodes to JSON bytes the upstream can parse")
    func encodesBytes() throws {
        // Given
        let request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])

        // When
        let bytes = try AnthropicWire.encodeRequest(request, upstreamModel: "claude-test", stream: true)

        // Then
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        #expect(decoded == (try body(request, stream: true)))
    }

    // MARK: - Messages

    @Test("joins system and developer messages into the system prompt")
    func systemMerge() throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .system, text: "Be brief."),
                ChatMessage(role: .user, text: "hi"),
                ChatMessage(role: .developer, text: "Answer in French."),
            ]
        )

        // When
        let encoded = try body(request)

        // Then
        #expect(encoded["system"] == .string("Be brief.\n\nAnswer in French."))
        #expect(encoded["messages"] == (try json(#"[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]"#)))
    }

    @Test("merges consecutive turns of the same role and skips empty ones")
    func mergesTurns() throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .user, text: "one"),
                ChatMessage(role: .user, text: ""),
                ChatMessage(role: .user, text: "two"),
                ChatMessage(role: .assistant, text: "three"),
            ]
        )

        // When
        let encoded = try body(request)

        // Then
        #expect(
            encoded["messages"]
                == (try json(
                    #"""
                    [{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                     {"role": "assistant", "content": [{"type": "text", "text": "three"}]}]
                    """#
                ))
        )
    }

    @Test("maps assistant tool calls to tool_use and tool messages to one user turn of tool_result")
    func toolRoundTrip() throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .user, text: "weather?"),
                ChatMessage(
                    role: .assistant,
                    content: [.text("Let me check.")],
                    toolCalls: [
                        ToolCall(id: "toolu_1", name: "weather", arguments: #"{"city": "Paris"}"#),
                        ToolCall(id: "toolu_2", name: "time", arguments: ""),
                    ]
                ),
                ChatMessage(role: .tool, content: [.text("sunny")], toolCallID: "toolu_1"),
                ChatMessage(role: .tool, content: [.text("noon")], toolCallID: "toolu_2"),
                ChatMessage(role: .user, text: "thanks"),
            ]
        )

        // When
        let encoded = try body(request)

        // Then
        #expect(
            encoded["messages"]
                == (try json(
                    #"""
                    [{"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                     {"role": "assistant", "content": [
                        {"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}}]},
                     {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"},
                        {"type": "text", "text": "thanks"}]}]
                    """#
                ))
        )
    }

    @Test("puts tool results first when a user message precedes them in a merged turn")
    func toolResultsLead() throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .user, text: "also this"),
                ChatMessage(role: .tool, content: [.text("42")], toolCallID: "toolu_1"),
            ]
        )

        // When
        let content = try body(request)["messages"]

        // Then
        #expect(
            content
                == (try json(
                    #"""
                    [{"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"},
                        {"type": "text", "text": "also this"}]}]
                    """#
                ))
        )
    }

    @Test(
        "rejects tool-call arguments that are not a JSON object",
        arguments: [#"{"city": "#, "not json", "[1, 2]", "null"]
    )
    func invalidArguments(arguments: String) throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .user, text: "hi"),
                ChatMessage(
                    role: .assistant,
                    content: [],
                    toolCalls: [ToolCall(id: "toolu_1", name: "weather", arguments: arguments)]
                ),
            ]
        )

        // When
        let error = try #require(throws: InferenceError.self) { try body(request) }

        // Then
        #expect(error.code == .invalidRequest)
        #expect(error.message.contains("toolu_1"))
    }

    @Test("rejects a tool message without a call id")
    func toolMessageWithoutID() throws {
        // Given
        let request = ChatRequest(model: "public", messages: [ChatMessage(role: .tool, text: "orphan")])

        // When
        let error = try #require(throws: InferenceError.self) { try body(request) }

        // Then
        #expect(error.code == .invalidRequest)
    }

    // MARK: - Images

    @Test("sends data: URLs as base64 sources and http(s) URLs as url sources")
    func images() throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(
                    role: .user,
                    content: [
                        .text("compare"),
                        .imageURL(url: "data:image/png;base64,iVBORw0KGgo=", detail: "high"),
                        .imageURL(url: "https://example.com/cat.jpg", detail: nil),
                    ]
                )
            ]
        )

        // When
        let encoded = try body(request)

        // Then
        #expect(
            encoded["messages"]
                == (try json(
                    #"""
                    [{"role": "user", "content": [
                        {"type": "text", "text": "compare"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}]
                    """#
                ))
        )
    }

    @Test(
        "rejects images it cannot express",
        arguments: [
            "ftp://example.com/cat.png", "data:image/png,raw-bytes", "data:;base64,AAAA", "data:image/png;base64",
        ]
    )
    func badImages(url: String) throws {
        // Given
        let request = ChatRequest(
            model: "public",
            messages: [ChatMessage(role: .user, content: [.imageURL(url: url, detail: nil)])]
        )

        // When
        let error = try #require(throws: InferenceError.self) { try body(request) }

        // Then
        #expect(error.code == .invalidRequest)
    }

    // MARK: - Tools

    @Test("maps tool definitions with their schema, or an empty object schema")
    func tools() throws {
        // Given
        var request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
        request.tools = [
            ToolDefinition(
                name: "weather",
                description: "Current weather",
                parametersJSON: #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#
            ),
            ToolDefinition(name: "time"),
            ToolDefinition(name: "noop", parametersJSON: "{}"),
        ]

        // When
        let encoded = try body(request)

        // Then
        #expect(
            encoded["tools"]
                == (try json(
                    #"""
                    [{"name": "weather", "description": "Current weather",
                      "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                     {"name": "time", "input_schema": {"type": "object", "properties": {}}},
                     {"name": "noop", "input_schema": {"type": "object", "properties": {}}}]
                    """#
                ))
        )
        #expect(encoded["tool_choice"] == nil)
    }

    @Test("rejects a tool schema that is not a JSON object")
    func invalidSchema() throws {
        // Given
        var request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
        request.tools = [ToolDefinition(name: "broken", parametersJSON: "{nope")]

        // When
        let error = try #require(throws: InferenceError.self) { try body(request) }

        // Then
        #expect(error.code == .invalidRequest)
    }

    @Test(
        "maps tool_choice and parallel_tool_calls",
        arguments: [
            (ToolChoice?.some(.auto), Bool?.none, #"{"type": "auto"}"#),
            (.some(.required), nil, #"{"type": "any"}"#),
            (.some(.function("weather")), nil, #"{"type": "tool", "name": "weather"}"#),
            (.some(ToolChoice.none), nil, #"{"type": "none"}"#),
            (.some(.auto), false, #"{"type": "auto", "disable_parallel_tool_use": true}"#),
            (.some(.required), false, #"{"type": "any", "disable_parallel_tool_use": true}"#),
            (nil, false, #"{"type": "auto", "disable_parallel_tool_use": true}"#),
            (.some(.auto), true, #"{"type": "auto"}"#),
        ]
    )
    func toolChoice(choice: ToolChoice?, parallel: Bool?, expected: String) throws {
        // Given
        var request = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
        request.tools = [ToolDefinition(name: "weather")]
        request.toolChoice = choice
        request.parallelToolCalls = parallel

        // When
        let encoded = try body(request)

        // Then
        #expect(encoded["tool_choice"] == (try json(expected)))
    }

    @Test("leaves tool_choice out without tools or a preference")
    func noToolChoice() throws {
        // Given
        var withoutTools = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi")])
        withoutTools.toolChoice = .required
        var withoutPreference = withoutTools
        withoutPreference.tools = [ToolDefinition(name: "weather")]
        withoutPreference.toolChoice = nil

        // When
        let first = try body(withoutTools)
        let second = try body(withoutPreference)

        // Then
        #expect(first["tool_choice"] == nil)
        #expect(first["tools"] == nil)
        #expect(second["tool_choice"] == nil)
    }
}
