import SluiceInference
import SluiceTesting
import Testing

/// Streams: fallbacks only before the first event, usage completion, and interrupted endings.
@Suite("Local inference service streams")
struct LocalInferenceServiceStreamTests {
    private struct SocketError: Error {}

    private static let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "one two three")])

    private static func error(_ code: InferenceError.Code) -> InferenceError {
        InferenceError(code, "scripted \(code)")
    }

    /// Reads a stream to its end: the events received and the error that ended it, if any.
    private static func drain(_ stream: ChatStream) async -> (events: [ChatStreamEvent], error: (any Error)?) {
        var events: [ChatStreamEvent] = []
        do {
            for try await event in stream.events { events.append(event) }
            return (events, nil)
        } catch {
            return (events, error)
        }
    }

    private static func service(
        _ providers: [ScriptedProvider],
        configurations: [ProviderConfiguration] = []
    ) -> LocalInferenceService {
        LocalInferenceService.testing(
            providers: providers,
            configurations: configurations,
            models: [.model("m", providers.map { ($0.name, "gpt-4") })]
        )
    }

    @Test("relays deltas, finish and the upstream's usage", .timeLimit(.minutes(1)))
    func relaysCompleteStream() async throws {
        // Given a provider that streams two words, finish and usage
        let usage = Usage(promptTokens: 9, completionTokens: 2, isEstimated: false)
        let provider = ScriptedProvider(name: "a", always: .streamText(["hello", " world"], usage: usage))
        let service = Self.service([provider])

        // When a stream is opened and read
        let stream = try await service.openChatStream(Self.request)
        let (events, error) = await Self.drain(stream)

        // Then every event arrives unchanged and the stream ends cleanly
        #expect(error == nil)
        #expect(stream.servedBy == ServedBy(provider: "a", model: "gpt-4", attempt: 1))
        #expect(
            events == [
                .delta(ChatDelta(content: "hello")), .delta(ChatDelta(content: " world")), .finish(.stop),
                .usage(usage),
            ]
        )
    }

    @Test("keeps the proto's order: deltas, one finish, then one usage, whatever order the upstream used")
    func enforcesOrder() async throws {
        // Given a provider that reports usage before its finish, streams after it, and finishes and reports twice
        let early = Usage(promptTokens: 9, completionTokens: 1, isEstimated: false)
        let final = Usage(promptTokens: 9, completionTokens: 2, isEstimated: false)
        let provider = ScriptedProvider(
            name: "a",
            always: .stream([
                .delta(ChatDelta(content: "hello")), .usage(early), .finish(.stop), .delta(ChatDelta(content: "late")),
                .finish(.length), .usage(final),
            ])
        )
        let service = Self.service([provider])

        // When a stream is opened and read
        let (events, error) = await Self.drain(try await service.openChatStream(Self.request))

        // Then the answer ends at the first finish and the last usage reported follows it, once
        #expect(error == nil)
        #expect(events == [.delta(ChatDelta(content: "hello")), .finish(.stop), .usage(final)])
    }

    @Test("ends a stream without usage with an estimated usage event", .timeLimit(.minutes(1)))
    func estimatesMissingUsage() async throws {
        // Given a provider that streams "four five six", then finish, and no usage
        let provider = ScriptedProvider(name: "a", always: .streamText(["four", " five", " six"]))
        let service = Self.service([provider])

        // When the stream is read
        let (events, error) = await Self.drain(try await service.openChatStream(Self.request))

        // Then a last usage event counts prompt and completion, flagged as estimated
        #expect(error == nil)
        let prompt = PromptTokenCounter.words.countPrompt(Self.request.messages, upstreamModel: "gpt-4").tokens
        #expect(events.last == .usage(Usage(promptTokens: prompt, completionTokens: 3, isEstimated: true)))
        #expect(events.count == 5)
    }

    @Test("ends a stream that stops before finish with stream_interrupted", .timeLimit(.minutes(1)))
    func cutStream() async throws {
        // Given a provider whose stream stops after two deltas, without finish
        let provider = ScriptedProvider(
            name: "a",
            always: .stream([.delta(ChatDelta(content: "one")), .delta(ChatDelta(content: " two"))])
        )
        let service = Self.service([provider])

        // When the stream is read
        let (events, error) = await Self.drain(try await service.openChatStream(Self.request))

        // Then the deltas arrive and the stream ends with an interruption, never cleanly
        #expect(events == [.delta(ChatDelta(content: "one")), .delta(ChatDelta(content: " two"))])
        #expect((error as? InferenceError)?.code == .streamInterrupted)
    }

    @Test(
        "ends a stream that throws after its first event with stream_interrupted, without fallback",
        .timeLimit(.minutes(1)),
        arguments: [
            ScriptedProvider.Step.stream(
                [.delta(ChatDelta(content: "one"))],
                thenThrow: InferenceError(.upstreamUnavailable, "reset")
            ),
            .stream([.delta(ChatDelta(content: "one"))], thenThrow: SocketError()),
        ]
    )
    func brokenStreamDoesNotFallBack(step: ScriptedProvider.Step) async throws {
        // Given a primary whose stream breaks after one delta, with retries, and a healthy fallback
        let primary = ScriptedProvider(name: "a", always: step)
        let fallback = ScriptedProvider(name: "b", always: .streamText(["fallback"]))
        let service = Self.service([primary, fallback], configurations: [.scripted("a", maxAttempts: 3)])

        // When the stream is read
        let stream = try await service.openChatStream(Self.request)
        let (events, error) = await Self.drain(stream)

        // Then the client keeps the delta it got and sees an interruption; nothing is retried or replayed
        #expect(stream.servedBy.provider == "a")
        #expect(events == [.delta(ChatDelta(content: "one"))])
        #expect((error as? InferenceError)?.code == .streamInterrupted)
        #expect(primary.callCount == 1)
        #expect(fallback.callCount == 0)
    }

    @Test("keeps the timeout code when the upstream goes silent mid-stream", .timeLimit(.minutes(1)))
    func midStreamTimeout() async throws {
        // Given a provider whose stream times out after one delta
        let provider = ScriptedProvider(
            name: "a",
            always: .stream([.delta(ChatDelta(content: "one"))], thenThrow: Self.error(.upstreamTimeout))
        )
        let service = Self.service([provider])

        // When the stream is read
        let (events, error) = await Self.drain(try await service.openChatStream(Self.request))

        // Then it ends with upstream_timeout, which the edge reports as such
        #expect(events == [.delta(ChatDelta(content: "one"))])
        #expect((error as? InferenceError)?.code == .upstreamTimeout)
    }

    @Test(
        "falls back when a deployment fails before its first event",
        .timeLimit(.minutes(1)),
        arguments: [
            ScriptedProvider.Step.fail(InferenceError(.upstreamUnavailable, "refused")),
            .stream([], thenThrow: InferenceError(.upstreamTimeout, "no first token")),
            .stream([]),
        ]
    )
    func fallsBackBeforeFirstEvent(step: ScriptedProvider.Step) async throws {
        // Given a primary that fails before sending anything, and a healthy fallback
        let primary = ScriptedProvider(name: "a", always: step)
        let fallback = ScriptedProvider(name: "b", always: .streamText(["from", " b"]))
        let service = Self.service([primary, fallback])

        // When a stream is opened and read
        let stream = try await service.openChatStream(Self.request)
        let (events, error) = await Self.drain(stream)

        // Then the fallback serves the whole stream
        #expect(error == nil)
        #expect(stream.servedBy == ServedBy(provider: "b", model: "gpt-4", attempt: 2))
        #expect(Array(events.prefix(2)) == [.delta(ChatDelta(content: "from")), .delta(ChatDelta(content: " b"))])
        #expect(primary.callCount == 1)
    }

    @Test("retries a rate-limited stream before its first event", .timeLimit(.minutes(1)))
    func retriesStreamOpen() async throws {
        // Given a provider that answers 429 once, then streams
        let provider = ScriptedProvider(
            name: "a",
            steps: [.fail(Self.error(.upstreamRateLimited)), .streamText(["ok"])]
        )
        let service = Self.service([provider], configurations: [.scripted("a", maxAttempts: 2)])

        // When a stream is opened
        let stream = try await service.openChatStream(Self.request)
        let (events, _) = await Self.drain(stream)

        // Then the second attempt serves it
        #expect(stream.servedBy.attempt == 2)
        #expect(events.first == .delta(ChatDelta(content: "ok")))
        #expect(provider.callCount == 2)
    }

    @Test("does not fall back when the stream request itself is invalid", .timeLimit(.minutes(1)))
    func invalidStreamRequest() async throws {
        // Given a primary that rejects the request and a fallback
        let primary = ScriptedProvider(name: "a", always: .fail(Self.error(.invalidRequest)))
        let fallback = ScriptedProvider(name: "b", always: .streamText(["x"]))
        let service = Self.service([primary, fallback])

        // When a stream is opened
        var code: InferenceError.Code?
        do {
            _ = try await service.openChatStream(Self.request)
        } catch let error as InferenceError {
            code = error.code
        }

        // Then the request fails without reaching the fallback
        #expect(code == .invalidRequest)
        #expect(fallback.callCount == 0)
    }

    @Test("fails to open with model_not_found for an unknown model", .timeLimit(.minutes(1)))
    func unknownModelStream() async throws {
        // Given a service without the model
        let service = Self.service([ScriptedProvider(name: "a", always: .streamText(["x"]))])

        // When a stream is opened for another model
        var code: InferenceError.Code?
        do {
            _ = try await service.openChatStream(ChatRequest(model: "nope", messages: Self.request.messages))
        } catch let error as InferenceError {
            code = error.code
        }

        // Then it is refused
        #expect(code == .modelNotFound)
    }
}
