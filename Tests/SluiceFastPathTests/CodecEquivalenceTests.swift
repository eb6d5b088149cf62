import Foundation
import SluiceFastPath
import SluiceInference
import SluiceProviders
import Testing

@testable import SluiceEdge

/// The fast codecs write the same JSON values as the `Codable` ones they replace (member order aside), for every
/// shape the chat path writes: so switching `fast_json` off changes the CPU a request costs, never its bytes' meaning.
@Suite("Fast and Codable codecs write the same JSON")
struct CodecEquivalenceTests {
    /// Parses JSON bytes into Foundation objects, whose equality ignores member order and `1` against `1.0`.
    private static func value(_ bytes: [UInt8]) throws -> NSObject {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? NSObject)
    }

    private static let usage = Usage(promptTokens: 12, completionTokens: 3, isEstimated: false)

    static let responses: [ChatResponse] = [
        ChatResponse(
            id: "chatcmpl-1",
            created: 1_700_000_000,
            servedBy: ServedBy(provider: "echo", model: "echo", attempt: 1),
            message: ChatMessage(role: .assistant, text: "Hello \"world\" \u{1F600} / \\ \n"),
            finishReason: .stop,
            usage: usage
        ),
        ChatResponse(
            id: "chatcmpl-2",
            created: 1,
            servedBy: ServedBy(provider: "p", model: "m", attempt: 2),
            message: ChatMessage(
                role: .assistant,
                content: [],
                toolCalls: [
                    ToolCall(id: "call_1", name: "lookup", arguments: #"{"q":"cats"}"#),
                    ToolCall(id: "call_2", name: "time", arguments: "{}"),
                ]
            ),
            finishReason: .toolCalls,
            usage: Usage(promptTokens: 0, completionTokens: 0, isEstimated: true)
        ),
        ChatResponse(
            id: "chatcmpl-3",
            created: 2,
            servedBy: ServedBy(provider: "p", model: "m", attempt: 1),
            message: ChatMessage(
                role: .assistant,
                content: [.text("calling")],
                toolCalls: [ToolCall(id: "call_9", name: "f", arguments: "")]
            ),
            finishReason: .length,
            usage: usage
        ),
    ]

    @Test("completions", arguments: responses)
    func completions(response: ChatResponse) throws {
        // Given an answer
        // When both codecs write it as a completion
        let fast = FastOpenAIChatCodec().encodeCompletion(response, model: "gpt-4o")
        let codable = CodableOpenAIChatCodec().encodeCompletion(response, model: "gpt-4o")

        // Then the JSON values are equal
        #expect(try Self.value(fast) == Self.value(codable))
    }

    static let chunks: [OpenAIChatEncoding.Chunk] = {
        func chunk(
            _ delta: OpenAIChatEncoding.Chunk.Delta?,
            finish: String? = nil,
            usage: Usage? = nil,
            includeUsage: Bool = false
        ) -> OpenAIChatEncoding.Chunk {
            OpenAIChatEncoding.Chunk(
                id: "chatcmpl-s",
                created: 1_700_000_001,
                model: "gpt-4o",
                delta: delta,
                finishReason: finish,
                usage: usage.map(OpenAIChatEncoding.WireUsage.init),
                includeUsageField: includeUsage
            )
        }
        let call = OpenAIChatEncoding.WireToolCall(
            index: 0,
            id: "call_1",
            type: "function",
            function: .init(name: "lookup", arguments: nil)
        )
        let fragment = OpenAIChatEncoding.WireToolCall(
            index: 0,
            id: nil,
            type: nil,
            function: .init(name: nil, arguments: #"{"q":"#)
        )
        return [
            chunk(.init(role: "assistant", content: "")),
            chunk(.init(role: "assistant", content: ""), includeUsage: true),
            chunk(.init(role: nil, content: "Hel\"lo\u{0007}")),
            chunk(.init(role: nil, content: nil, toolCalls: [call])),
            chunk(.init(role: nil, content: nil, toolCalls: [fragment])),
            chunk(.init(), finish: "stop"),
            chunk(.init(), finish: "tool_calls", includeUsage: true),
            chunk(nil, usage: usage, includeUsage: true),
        ]
    }()

    @Test("stream chunks", arguments: chunks.indices)
    func streamChunks(index: Int) throws {
        // Given a chunk
        let chunk = Self.chunks[index]

        // When both codecs write it
        let fast = FastOpenAIChatCodec().encodeChunk(chunk)
        let codable = CodableOpenAIChatCodec().encodeChunk(chunk)

        // Then the JSON values are equal
        #expect(try Self.value(fast) == Self.value(codable))
    }

    static let requests: [ChatRequest] = {
        var plain = ChatRequest(model: "public", messages: [ChatMessage(role: .user, text: "hi \u{4F60}\u{597D}")])
        plain.maxTokens = 64
        plain.temperature = 0.25
        plain.requestID = "req-1"

        var everything = ChatRequest(
            model: "public",
            messages: [
                ChatMessage(role: .system, text: "Be brief."),
                ChatMessage(
                    role: .user,
                    content: [.text("what is this?"), .imageURL(url: "https://example.com/cat.png", detail: "low")],
                    name: "ann"
                ),
                ChatMessage(
                    role: .assistant,
                    content: [],
                    toolCalls: [ToolCall(id: "call_1", name: "lookup", arguments: #"{"q":"cat"}"#)]
                ),
                ChatMessage(role: .tool, content: [.text("a cat")], toolCallID: "call_1"),
                ChatMessage(role: .user, content: []),
            ]
        )
        everything.tools = [
            ToolDefinition(
                name: "lookup",
                description: "Looks things up",
                parametersJSON: #"{"type":"object","properties":{"q":{"type":"string","maxLength":100}}}"#,
                strict: true
            ),
            ToolDefinition(name: "bare"),
            ToolDefinition(name: "broken", parametersJSON: "{not json"),
        ]
        everything.toolChoice = .function("lookup")
        everything.parallelToolCalls = false
        everything.topP = 0.9
        everything.stop = ["\n\n", "END"]
        everything.seed = 42
        everything.presencePenalty = -0.5
        everything.frequencyPenalty = 1.5
        everything.user = "user-7"
        everything.responseFormat = .jsonSchema(
            name: "answer",
            schemaJSON: #"{"type":"object","required":["a"]}"#,
            strict: true
        )

        var modes: [ChatRequest] = []
        for choice in [ToolChoice.none, .auto, .required] {
            var request = plain
            request.toolChoice = choice
            modes.append(request)
        }
        for format in [ChatRequest.ResponseFormat.text, .jsonObject] {
            var request = plain
            request.responseFormat = format
            modes.append(request)
        }
        return [plain, everything] + modes
    }()

    @Test("upstream requests, streamed and not", arguments: requests.indices, [false, true])
    func upstreamRequests(index: Int, stream: Bool) throws {
        // Given a domain request
        let request = Self.requests[index]

        // When both codecs write the upstream body
        let fast = try FastOpenAIWireCodec().encodeRequest(request, upstreamModel: "gpt-4o-2024", stream: stream)
        let codable = try CodableOpenAIWireCodec().encodeRequest(request, upstreamModel: "gpt-4o-2024", stream: stream)

        // Then the JSON values are equal
        #expect(try Self.value(fast) == Self.value(codable))
    }

    @Test(
        "upstream answers read the same",
        arguments: [
            #"{"id":"x","choices":[{"message":{"content":"hi","tool_calls":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
            #"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
            #"{"id":"y","choices":[],"usage":null,"extra":[1,2,{"a":true}]}"#,
            #"{"id":"z","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0}}}"#,
            #"{"id":"z","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":null}}"#,
            #"{"id":"z","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":null}}}"#,
        ]
    )
    func upstreamAnswers(body: String) throws {
        // Given an upstream completion
        let bytes = Array(body.utf8)

        // When both codecs read it
        let fast = try FastOpenAIWireCodec().readCompletion(bytes)
        let codable = try CodableOpenAIWireCodec().readCompletion(bytes)

        // Then they read the same members
        #expect(fast.id == codable.id)
        #expect(fast.usage?.domain == codable.usage?.domain)
        #expect(fast.choices.map(\.finishReason) == codable.choices.map(\.finishReason))
        #expect(fast.choices.map(\.message.content) == codable.choices.map(\.message.content))
        #expect(
            fast.choices.map { $0.message.toolCalls?.map(\.function.name) }
                == codable.choices.map { $0.message.toolCalls?.map(\.function.name) }
        )
    }

    @Test("both read the prompt tokens served from the prompt cache, 0 when the details are missing or null")
    func cachedPromptTokens() throws {
        let cached = Array(
            #"{"id":"z","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}}"#
                .utf8
        )
        let plain = Array(#"{"id":"z","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#.utf8)
        for codec in [FastOpenAIWireCodec() as any OpenAIWireCodec, CodableOpenAIWireCodec()] {
            #expect(try codec.readCompletion(cached).usage?.domain.cachedPromptTokens == 4)
            #expect(try codec.readCompletion(plain).usage?.domain.cachedPromptTokens == 0)
        }
    }

    @Test("a malformed upstream answer is refused by both")
    func malformedAnswer() {
        // Given bodies that are not completions
        for body in [#"{"choices":"nope"}"#, "not json", #"{"id":"x"}"#] {
            // When both codecs read them, then both refuse
            #expect(throws: (any Error).self) { try FastOpenAIWireCodec().readCompletion(Array(body.utf8)) }
            #expect(throws: (any Error).self) { try CodableOpenAIWireCodec().readCompletion(Array(body.utf8)) }
        }
    }
}
