import Foundation
import SluiceInference
import Testing

@testable import SluiceProviders

@Suite("Anthropic response decoding")
struct AnthropicResponseTests {
    private func decode(_ text: String) throws -> ProviderReply {
        try AnthropicWire.decodeResponse(Data(text.utf8), provider: "anthropic")
    }

    @Test("concatenates text blocks and reads usage including the prompt cache")
    func textAnswer() throws {
        // Given
        let body = #"""
            {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
             "content": [{"type": "text", "text": "Hello, "}, {"type": "thinking", "thinking": "hmm"},
                         {"type": "text", "text": "world."}],
             "stop_reason": "end_turn", "stop_sequence": null,
             "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                       "output_tokens": 7}}
            """#

        // When
        let reply = try decode(body)

        // Then
        #expect(reply.message == ChatMessage(role: .assistant, text: "Hello, world."))
        #expect(reply.finishReason == .stop)
        // (every prompt token, cached or not; the 100 read from the cache are priced at the cached price)
        #expect(
            reply.usage == Usage(promptTokens: 115, completionTokens: 7, isEstimated: false, cachedPromptTokens: 100)
        )
        #expect(reply.upstreamID == "msg_01")
    }

    @Test("turns tool_use blocks into tool calls with the input as JSON text")
    func toolUseAnswer() throws {
        // Given
        let body = #"""
            {"id": "msg_02", "type": "message", "role": "assistant",
             "content": [{"type": "text", "text": "Checking."},
                         {"type": "tool_use", "id": "toolu_1", "name": "weather",
                          "input": {"city": "Paris", "days": 3}},
                         {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}}],
             "stop_reason": "tool_use",
             "usage": {"input_tokens": 20, "cache_creation_input_tokens": null, "output_tokens": 30}}
            """#

        // When
        let reply = try decode(body)

        // Then
        #expect(reply.message.text == "Checking.")
        #expect(
            reply.message.toolCalls == [
                ToolCall(id: "toolu_1", name: "weather", arguments: #"{"city":"Paris","days":3}"#),
                ToolCall(id: "toolu_2", name: "time", arguments: "{}"),
            ]
        )
        #expect(reply.finishReason == .toolCalls)
        #expect(reply.usage == Usage(promptTokens: 20, completionTokens: 30, isEstimated: false))
    }

    @Test("a tool-only answer has no text content")
    func toolOnly() throws {
        // Given
        let body = #"""
            {"content": [{"type": "tool_use", "id": "toolu_1", "name": "time", "input": {}}], "stop_reason": "tool_use"}
            """#

        // When
        let reply = try decode(body)

        // Then
        #expect(reply.message.content.isEmpty)
        #expect(reply.message.toolCalls.count == 1)
        #expect(reply.usage == nil)
    }

    @Test(
        "maps stop reasons",
        arguments: [
            ("end_turn", FinishReason.stop),
            ("stop_sequence", .stop),
            ("max_tokens", .length),
            ("tool_use", .toolCalls),
            ("refusal", .contentFilter),
            ("pause_turn", .stop),
            ("something_new", .stop),
        ]
    )
    func stopReasons(reason: String, expected: FinishReason) throws {
        // Given
        let body = #"{"content": [{"type": "text", "text": "x"}], "stop_reason": "\#(reason)"}"#

        // When
        let reply = try decode(body)

        // Then
        #expect(reply.finishReason == expected)
    }

    @Test("a missing stop reason counts as a natural stop")
    func missingStopReason() throws {
        #expect(try decode(#"{"content": [], "stop_reason": null}"#).finishReason == .stop)
    }

    @Test("reports no usage when the upstream reported none")
    func noUsage() throws {
        // Given
        let body = #"{"content": [{"type": "text", "text": "x"}], "stop_reason": "end_turn"}"#

        // When
        let reply = try decode(body)

        // Then
        #expect(reply.usage == nil)
    }

    @Test("rejects a body that is not JSON")
    func malformed() throws {
        // When
        let error = try #require(throws: InferenceError.self) { try decode(#"{"content": [{"type": "te"#) }

        // Then
        #expect(error.code == .upstreamUnavailable)
        #expect(error.provider == "anthropic")
    }

    @Test("passes on the message of an error object")
    func errorObject() throws {
        // Given
        let body = #"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#

        // When
        let error = try #require(throws: InferenceError.self) { try decode(body) }

        // Then
        #expect(error.code == .upstreamUnavailable)
        #expect(error.message.contains("Overloaded"))
    }
}
