import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceInference
import SluiceTesting
import Testing

@Suite("Edge streaming")
struct EdgeStreamTests {
    /// Streams a chat and returns the response and its `data:` payloads.
    private static func stream(
        _ harness: EdgeHarness,
        key: String,
        body: ByteBuffer
    ) async throws -> (response: TestResponse, events: [String]) {
        try await harness.makeApplication().test(.live) { client in
            let response = try await client.postChat(body, headers: HTTP.headers(key: key))
            return (response, ServerSentEvents.data(in: String(buffer: response.body)))
        }
    }

    private static func content(of chunks: [[String: Any]]) -> String {
        chunks.compactMap { chunk in
            ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
        }.joined()
    }

    @Test("streams chunks that start with the role and end with [DONE]", .timeLimit(.minutes(1)))
    func streamsChunks() async throws {
        // Given the edge and a valid key
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        // When echo streams an answer without stream_options
        let (response, events) = try await Self.stream(
            harness,
            key: key,
            body: HTTP.chat(text: "hello big world", stream: true)
        )

        // Then the events are chat.completion.chunk objects ending with [DONE]
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/event-stream")
        #expect(events.last == "[DONE]")
        #expect(events.filter { $0 == "[DONE]" }.count == 1)
        let chunks = try events.dropLast().map(HTTP.object)
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
        #expect(chunks.allSatisfy { $0["model"] as? String == "echo" })
        let first = try #require((chunks.first?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
        #expect(first["role"] as? String == "assistant")
        #expect(Self.content(of: chunks) == "hello big world")
        let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        #expect(finishes == ["stop"])
        // Without include_usage there is no usage chunk and no usage field
        #expect(chunks.allSatisfy { $0["usage"] == nil })
        #expect(chunks.allSatisfy { ($0["choices"] as? [Any])?.isEmpty == false })
    }

    @Test("ends with a usage chunk before [DONE] when include_usage is set", .timeLimit(.minutes(1)))
    func includeUsage() async throws {
        // Given a provider that streams without usage
        let provider = ScriptedProvider(name: "a", always: .streamText(["four", " five"]))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "gpt-4")])])
        let key = try await harness.createKey()

        // When a stream asks for usage
        let (_, events) = try await Self.stream(
            harness,
            key: key,
            body: HTTP.chat(model: "m", stream: true, ["stream_options": ["include_usage": true]])
        )

        // Then the last chunk before [DONE] has no choices and the estimated usage; the others have usage null
        #expect(events.last == "[DONE]")
        let chunks = try events.dropLast().map(HTTP.object)
        let last = try #require(chunks.last)
        #expect((last["choices"] as? [Any])?.isEmpty == true)
        let usage = try #require(last["usage"] as? [String: Any])
        #expect(usage["completion_tokens"] as? Int == 2)
        #expect(usage["estimated"] as? Bool == true)
        #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
        #expect(Self.content(of: chunks) == "four five")
    }

    @Test("passes exact upstream usage through the usage chunk", .timeLimit(.minutes(1)))
    func exactStreamUsage() async throws {
        // Given echo, which reports exact usage
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        // When a stream asks for usage
        let (_, events) = try await Self.stream(
            harness,
            key: key,
            body: HTTP.chat(text: "one two three", stream: true, ["stream_options": ["include_usage": true]])
        )

        // Then the usage chunk carries it, not flagged as estimated
        let usageChunk = try HTTP.object(try #require(events.dropLast().last))
        let usage = try #require(usageChunk["usage"] as? [String: Any])
        let prompt = try #require(usage["prompt_tokens"] as? Int)
        #expect(usage["completion_tokens"] as? Int == 3)
        #expect(usage["total_tokens"] as? Int == prompt + 3)
        #expect(usage["estimated"] as? Bool == false)
    }

    @Test(
        "ends an interrupted stream with one error event and no [DONE]",
        .timeLimit(.minutes(1)),
        arguments: [
            ScriptedProvider.Step.stream(
                [.delta(ChatDelta(content: "one")), .delta(ChatDelta(content: " two"))],
                thenThrow: InferenceError(.upstreamUnavailable, "connection reset")
            ),
            .stream([.delta(ChatDelta(content: "one")), .delta(ChatDelta(content: " two"))]),
        ]
    )
    func interruptedStream(step: ScriptedProvider.Step) async throws {
        // Given a provider whose stream breaks after two deltas, and a fallback that must not be used
        let provider = ScriptedProvider(name: "a", always: step)
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "gpt-4"), ("echo", "echo")])])
        let key = try await harness.createKey()

        // When the stream is read
        let (response, events) = try await Self.stream(
            harness,
            key: key,
            body: HTTP.chat(model: "m", stream: true, ["stream_options": ["include_usage": true]])
        )

        // Then the deltas arrive, followed by exactly one error object and no [DONE]
        #expect(response.status == .ok)
        #expect(response.headers[EdgeHeaders.provider] == "a")
        #expect(!events.contains("[DONE]"))
        let objects = try events.map(HTTP.object)
        #expect(Self.content(of: objects) == "one two")
        #expect(objects.filter { $0["error"] != nil }.count == 1)
        let last = try #require(objects.last)
        try HTTP.expectErrorObject(last, type: "upstream_error", code: "upstream_error")
        #expect(provider.callCount == 1)
    }

    @Test("reports a stream that times out after its first token as upstream_timeout", .timeLimit(.minutes(1)))
    func midStreamTimeout() async throws {
        // Given a provider whose stream goes silent after one delta
        let provider = ScriptedProvider(
            name: "a",
            always: .stream(
                [.delta(ChatDelta(content: "one"))],
                thenThrow: InferenceError(.upstreamTimeout, "silent upstream")
            )
        )
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "gpt-4")])])
        let key = try await harness.createKey()

        // When the stream is read
        let (_, events) = try await Self.stream(harness, key: key, body: HTTP.chat(model: "m", stream: true))

        // Then it ends with an upstream_timeout error event and no [DONE]
        #expect(!events.contains("[DONE]"))
        let last = try HTTP.object(try #require(events.last))
        try HTTP.expectErrorObject(last, type: "upstream_error", code: "upstream_timeout")
    }

    @Test("streams a forced tool call as tool_calls deltas", .timeLimit(.minutes(1)))
    func streamsToolCall() async throws {
        // Given the edge and a streamed request that forces a tool
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        let body = HTTP.chat(
            text: "Paris",
            stream: true,
            [
                "tools": [["type": "function", "function": ["name": "get_weather"]]],
                "tool_choice": ["type": "function", "function": ["name": "get_weather"]],
            ]
        )

        // When echo streams
        let (_, events) = try await Self.stream(harness, key: key, body: body)

        // Then the call arrives as OpenAI tool_calls deltas, and the stream finishes with tool_calls
        let chunks = try events.dropLast().map(HTTP.object)
        let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
        let calls = deltas.compactMap { ($0["tool_calls"] as? [[String: Any]])?.first }
        #expect(calls.count == 2)
        #expect(calls.first?["index"] as? Int == 0)
        #expect(calls.first?["type"] as? String == "function")
        #expect((calls.first?["function"] as? [String: Any])?["name"] as? String == "get_weather")
        #expect((calls.last?["function"] as? [String: Any])?["arguments"] as? String == #"{"input":"Paris"}"#)
        let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        #expect(finishes == ["tool_calls"])
        #expect(events.last == "[DONE]")
    }
}
