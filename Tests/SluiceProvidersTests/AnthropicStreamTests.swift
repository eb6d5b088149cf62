import SluiceInference
import Testing

@testable import SluiceProviders

@Suite("Anthropic stream translation", .timeLimit(.minutes(1)))
struct AnthropicStreamTests {
    // MARK: - Recorded streams

    /// A text answer as the Messages API streams it, `ping` included.
    private static let textStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

        event: message_stop
        data: {"type":"message_stop"}


        """

    /// A text block followed by two tool_use blocks, the second without arguments.
    private static let toolStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_02","content":[],"usage":{"input_tokens":400,"cache_read_input_tokens":100,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"Paris\\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"time","input":{}}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":2}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

        event: message_stop
        data: {"type":"message_stop"}


        """

    // MARK: - Helpers

    private struct Recorded: AsyncIteratorProtocol {
        var events: [ServerSentEventParser.Event]
        var failure: InferenceError?

        mutating func next() async throws -> ServerSentEventParser.Event? {
            if !events.isEmpty { return events.removeFirst() }
            if let failure {
                self.failure = nil
                throw failure
            }
            return nil
        }
    }

    private static func parse(_ sse: String) -> [ServerSentEventParser.Event] {
        var parser = ServerSentEventParser()
        return parser.feed(Array(sse.utf8))
    }

    /// Runs recorded events through the iterator the provider uses, as a pulled stream.
    private static func drain(
        _ events: [ServerSentEventParser.Event],
        failure: InferenceError? = nil,
        into received: inout [ChatStreamEvent]
    ) async throws {
        let iterator = AnthropicWire.EventIterator(
            events: Recorded(events: events, failure: failure),
            translator: AnthropicWire.StreamTranslator(provider: "anthropic")
        )
        for try await event in ChatEvents(pulling: iterator) {
            received.append(event)
        }
    }

    private static func drain(_ sse: String) async throws -> [ChatStreamEvent] {
        var received: [ChatStreamEvent] = []
        try await drain(parse(sse), into: &received)
        return received
    }

    private static func event(_ data: String, name: String? = nil) -> ServerSentEventParser.Event {
        ServerSentEventParser.Event(name: name, data: data)
    }

    // MARK: - Complete streams

    @Test("translates a text stream into deltas, finish and usage")
    func textStream() async throws {
        // When
        let events = try await Self.drain(Self.textStream)

        // Then
        #expect(
            events == [
                .delta(ChatDelta(content: "Hello")),
                .delta(ChatDelta(content: "!")),
                .finish(.stop),
                .usage(Usage(promptTokens: 25, completionTokens: 15, isEstimated: false)),
            ]
        )
    }

    @Test("numbers tool_use blocks from zero and streams their argument text")
    func toolStream() async throws {
        // When
        let events = try await Self.drain(Self.toolStream)

        // Then
        #expect(
            events == [
                .delta(ChatDelta(content: "Checking.")),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "toolu_1", name: "weather")])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, arguments: #"{"city": "#)])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, arguments: #""Paris"}"#)])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 1, id: "toolu_2", name: "time")])),
                .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 1, arguments: "{}")])),
                .finish(.toolCalls),
                .usage(Usage(promptTokens: 500, completionTokens: 89, isEstimated: false, cachedPromptTokens: 100)),
            ]
        )
    }

    @Test("stops reading at message_stop")
    func stopsAtMessageStop() async throws {
        // Given
        var events = Self.parse(Self.textStream)
        events.append(Self.event("not json"))

        // When
        var received: [ChatStreamEvent] = []
        try await Self.drain(events, into: &received)

        // Then
        #expect(received.last == .usage(Usage(promptTokens: 25, completionTokens: 15, isEstimated: false)))
    }

    @Test("maps max_tokens to length and leaves usage out when the upstream reported none")
    func lengthWithoutUsage() async throws {
        // Given
        let events = [
            Self.event(#"{"type":"message_start","message":{"id":"msg_03","content":[]}}"#),
            Self.event(#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}"#),
            Self.event(#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"}}"#),
            Self.event(#"{"type":"message_stop"}"#),
        ]

        // When
        var received: [ChatStreamEvent] = []
        try await Self.drain(events, into: &received)

        // Then
        #expect(received == [.delta(ChatDelta(content: "Hi")), .finish(.length)])
    }

    @Test("ignores ping, thinking blocks and unknown event types")
    func ignoresUnknown() throws {
        // Given
        var translator = AnthropicWire.StreamTranslator(provider: "anthropic")
        let events = [
            Self.event(#"{"type":"ping"}"#, name: "ping"),
            Self.event(#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#),
            Self.event(#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#),
            Self.event(#"{"type":"content_block_stop","index":0}"#),
            Self.event(#"{"type":"brand_new_event","payload":[1,2,3]}"#),
        ]

        // When
        var received: [ChatStreamEvent] = []
        for event in events { received += try translator.translate(event) }

        // Then
        #expect(received.isEmpty)
        #expect(!translator.isFinished)
    }

    // MARK: - Failures

    @Test("throws upstream_unavailable for an error event, after the events before it")
    func errorEvent() async throws {
        // Given
        var events = Array(Self.parse(Self.textStream).prefix(4))
        events.append(
            Self.event(
                #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                name: "error"
            )
        )

        // When
        var received: [ChatStreamEvent] = []
        let error = try await #require(throws: InferenceError.self) {
            try await Self.drain(events, into: &received)
        }

        // Then
        #expect(received == [.delta(ChatDelta(content: "Hello"))])
        #expect(error.code == .upstreamUnavailable)
        #expect(error.message.contains("overloaded_error"))
        #expect(error.message.contains("Overloaded"))
        #expect(error.provider == "anthropic")
    }

    @Test("ends without finish when the stream ends before message_stop")
    func missingMessageStop() async throws {
        // Given
        let events = Self.parse(Self.textStream).dropLast()

        // When
        var received: [ChatStreamEvent] = []
        try await Self.drain(Array(events), into: &received)

        // Then
        #expect(received == [.delta(ChatDelta(content: "Hello")), .delta(ChatDelta(content: "!"))])
    }

    @Test("throws upstream_unavailable for a malformed event")
    func malformedEvent() async throws {
        // Given
        let events = [
            Self.event(#"{"type":"message_start","message":{"usage":{"input_tokens":3}}}"#),
            Self.event(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_del"#),
        ]

        // When
        var received: [ChatStreamEvent] = []
        let error = try await #require(throws: InferenceError.self) {
            try await Self.drain(events, into: &received)
        }

        // Then
        #expect(received.isEmpty)
        #expect(error.code == .upstreamUnavailable)
    }

    @Test("passes on a transport failure of the event source")
    func transportFailure() async throws {
        // Given
        let events = Array(Self.parse(Self.textStream).prefix(4))
        let cut = InferenceError(.upstreamTimeout, "silence", provider: "anthropic")

        // When
        var received: [ChatStreamEvent] = []
        let error = try await #require(throws: InferenceError.self) {
            try await Self.drain(events, failure: cut, into: &received)
        }

        // Then
        #expect(received == [.delta(ChatDelta(content: "Hello"))])
        #expect(error == cut)
    }
}
