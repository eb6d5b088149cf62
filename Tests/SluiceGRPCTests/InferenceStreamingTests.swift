import SluiceInference
import SluiceInferenceGRPC
import Testing

@Suite("Inference over gRPC: chat streams", .timeLimit(.minutes(1)))
struct InferenceStreamingTests {
    private static let request = ChatRequest(model: "gpt-4o", messages: [ChatMessage(role: .user, text: "Tell me")])

    private static func collect(_ stream: ChatStream) async throws -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for try await event in stream.events { events.append(event) }
        return events
    }

    @Test(
        "a stream of several events arrives in order, with served-by, id and creation time",
        arguments: [false, true]
    )
    func eventsInOrder(exchange: Bool) async throws {
        // Given an implementation that streams text, tool-call fragments, finish and usage
        let scripted: [ChatStreamEvent] = [
            .delta(ChatDelta(content: "Hel")),
            .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "call_1", name: "lookup", arguments: "{\"q\":")])),
            .delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, arguments: "\"cat\"}")])),
            .delta(ChatDelta(content: "lo")),
            .finish(.toolCalls),
            .usage(Usage(promptTokens: 12, completionTokens: 5, isEstimated: false)),
        ]
        let fake = FakeInferenceService(streamScript: .events(scripted, thenFail: nil))

        // When the client opens the stream and reads it to the end
        let (stream, events) = try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
            let stream = try await client.openChatStream(Self.request)
            return (stream, try await Self.collect(stream))
        }

        // Then it knows who serves it and sees every event in order
        #expect(stream.servedBy == fake.servedBy)
        #expect(stream.id == "chatcmpl-7")
        #expect(stream.created == 1_726_000_000)
        #expect(events == scripted)
        #expect(fake.streamRequests == [Self.request])
    }

    @Test(
        "an error before the first event is thrown by openChatStream as the same InferenceError",
        arguments: [false, true]
    )
    func errorBeforeOpen(exchange: Bool) async throws {
        // Given an implementation whose every deployment is rate limited
        let expected = InferenceError(.upstreamRateLimited, "Slow down", retryAfter: .seconds(2), provider: "openai")
        let fake = FakeInferenceService(streamScript: .failBeforeOpen(expected))

        // When the client opens a stream
        let error = await #expect(throws: InferenceError.self) {
            try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
                _ = try await client.openChatStream(Self.request)
            }
        }

        // Then openChatStream itself throws the same error
        #expect(error == expected)
    }

    @Test("an error mid-stream ends the client's stream with the same InferenceError", arguments: [false, true])
    func errorMidStream(exchange: Bool) async throws {
        // Given an implementation whose upstream is cut after two deltas
        let expected = InferenceError(.streamInterrupted, "The upstream closed the stream", provider: "anthropic")
        let scripted: [ChatStreamEvent] = [.delta(ChatDelta(content: "One")), .delta(ChatDelta(content: " two"))]
        let fake = FakeInferenceService(streamScript: .events(scripted, thenFail: expected))

        // When the client reads the stream
        let (received, error) = try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
            let stream = try await client.openChatStream(Self.request)
            var received: [ChatStreamEvent] = []
            do {
                for try await event in stream.events { received.append(event) }
                return (received, nil as InferenceError?)
            } catch let error as InferenceError {
                return (received, error)
            }
        }

        // Then it sees the deltas sent before the cut, then the same error, and no finish
        #expect(received == scripted)
        #expect(error == expected)
    }

    @Test("a consumer that stops early cancels the RPC and the server's domain stream", arguments: [false, true])
    func consumerCancels(exchange: Bool) async throws {
        // Given an implementation that sends one delta and then waits for more upstream tokens forever,
        // served over a transport that resets abandoned streams as HTTP/2 does
        let fake = FakeInferenceService(streamScript: .eventsThenBlock([.delta(ChatDelta(content: "first"))]))
        let transport = ResettingInProcessTransport()

        try await InProcessMesh.withInference(
            client: transport.client,
            server: transport.server,
            serving: fake,
            exchange: exchange
        ) {
            client in
            // When the consumer reads the first event and then drops the stream
            let stream = try await client.openChatStream(Self.request)
            try await Self.readFirstEventAndDrop(consume stream)

            // Then the server-side handler stops consuming the domain stream
            try await fake.cancelled.wait(timeout: .seconds(20))
        }
        #expect(fake.cancelled.hasFired)
    }

    private static func readFirstEventAndDrop(_ stream: consuming ChatStream) async throws {
        var iterator = stream.events.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first == .delta(ChatDelta(content: "first")))
    }

    @Test(
        "a stream's deadline ends it with upstream_timeout and cancels the server's domain stream",
        arguments: [false, true]
    )
    func streamDeadline(exchange: Bool) async throws {
        // Given an implementation that blocks after one delta, and a client whose streams may last 5 s: long enough
        // for the first delta to arrive while the whole suite loads both cores. (With 2 s, one CI run in several
        // saw no answer in time over `Exchange`: CPU-bound suites can hold the concurrency pool's threads for
        // seconds at the start of the run.)
        let fake = FakeInferenceService(streamScript: .eventsThenBlock([.delta(ChatDelta(content: "first"))]))

        let (received, error) = try await InProcessMesh.withInference(
            serving: fake,
            streamTimeout: .seconds(5),
            exchange: exchange
        ) {
            client in
            // When the consumer keeps reading past the deadline
            let stream = try await client.openChatStream(Self.request)
            var received: [ChatStreamEvent] = []
            do {
                for try await event in stream.events { received.append(event) }
                return (received, nil as InferenceError?)
            } catch let error as InferenceError {
                return (received, error)
            }
        }

        // Then the stream ends with upstream_timeout after the first delta, and the server stopped the domain stream
        #expect(received == [.delta(ChatDelta(content: "first"))])
        #expect(error?.code == .upstreamTimeout)
        try await fake.cancelled.wait(timeout: .seconds(20))
    }

    @Test("graceful shutdown lets an open stream finish and refuses new ones", arguments: [false, true])
    func gracefulShutdown(exchange: Bool) async throws {
        // Given an open stream
        let scripted: [ChatStreamEvent] = [.delta(ChatDelta(content: "still here")), .finish(.stop)]
        let fake = FakeInferenceService(streamScript: .events(scripted, thenFail: nil))

        let (events, error) = try await InProcessMesh.withInference(serving: fake, exchange: exchange) { client in
            let stream = try await client.openChatStream(Self.request)

            // When the client begins shutting down, then the stream is read and another is opened
            client.beginGracefulShutdown()
            let events = try await Self.collect(stream)
            let error = await #expect(throws: InferenceError.self) { _ = try await client.openChatStream(Self.request) }
            return (events, error)
        }

        // Then the open stream ran to its end, and the new one was refused without reaching the server
        #expect(events == scripted)
        #expect(error?.code == .upstreamUnavailable)
        #expect(fake.streamRequests.count == 1)
    }
}
