import GRPCCore
import SluiceInference
import SluiceInferenceGRPC
import SluiceProtos
import Synchronization
import Testing

@Suite("Inference over gRPC: calls carried by Exchange streams", .timeLimit(.minutes(1)))
struct InferenceExchangeTests {
    private static let request = ChatRequest(model: "gpt-4o", messages: [ChatMessage(role: .user, text: "Tell me")])

    private static let answer = ChatResponse(
        id: "chatcmpl-1",
        created: 1_726_000_000,
        servedBy: ServedBy(provider: "openai", model: "gpt-4o-2024-08-06", attempt: 1),
        message: ChatMessage(role: .assistant, text: "Hello"),
        finishReason: .stop,
        usage: Usage(promptTokens: 3, completionTokens: 1, isEstimated: false)
    )

    @Test(
        "concurrent calls each get their own answer, on one stream or on streams retired under them",
        arguments: [Duration.seconds(60), .zero]
    )
    func concurrentCalls(admission: Duration) async throws {
        // Given a service that answers each request with its request id, and a client that keeps one stream for a
        // minute, or opens a new one (retiring the last) for every call, so that a caller's chosen stream may be
        // retired before its call is sent and the call moves to the newest
        let fake = FakeInferenceService(chatScript: .echoRequestID(Self.answer))

        // When 40 calls are made at once
        let answers = try await InProcessMesh.withInference(
            serving: fake,
            exchange: true,
            exchangeAdmission: admission
        ) { client in
            try await withThrowingTaskGroup(of: (String, String).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        var request = Self.request
                        request.requestID = "req-\(index)"
                        return (request.requestID, try await client.chat(request).id)
                    }
                }
                var answers: [(String, String)] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
        }

        // Then every caller received the answer to its own request
        #expect(answers.count == 40)
        for (requestID, answerID) in answers { #expect(answerID == requestID) }
        #expect(fake.chatRequests.count == 40)
    }

    @Test("a cancelled caller cancels the service's work")
    func callerCancels() async throws {
        // Given a service whose chat call runs until cancelled
        let fake = FakeInferenceService(chatScript: .blockUntilCancelled)

        let error = try await InProcessMesh.withInference(serving: fake, exchange: true) { client in
            // When the caller is cancelled once the service has started
            let call = Task { try await client.chat(Self.request) }
            try await fake.chatStarted.wait(timeout: .seconds(20))
            call.cancel()

            // Then the caller gets `cancelled`, and the service's work is cancelled too
            let error = await #expect(throws: InferenceError.self) { try await call.value }
            try await fake.chatCancelled.wait(timeout: .seconds(20))
            return error
        }
        #expect(error?.code == .cancelled)
    }

    @Test("a call past its deadline ends with upstream_timeout, and the service's work is cancelled")
    func deadline() async throws {
        // Given a service whose chat call runs until cancelled, and calls with a 2 s deadline (long enough for the call
        // to reach the service even when the whole suite loads both cores)
        let fake = FakeInferenceService(chatScript: .blockUntilCancelled)

        let error = try await InProcessMesh.withInference(serving: fake, timeout: .seconds(2), exchange: true) {
            client in
            // When a call is made and reaches the service
            let call = Task { try await client.chat(Self.request) }
            try await fake.chatStarted.wait(timeout: .seconds(20))

            // Then it fails as a timeout, and the service stops working on it
            let error = await #expect(throws: InferenceError.self) { try await call.value }
            try await fake.chatCancelled.wait(timeout: .seconds(20))
            return error
        }
        #expect(error?.code == .upstreamTimeout)
    }

    @Test("a retired stream keeps its open calls, which can still be cancelled")
    func retiredStreamKeepsCalls() async throws {
        // Given a client that opens a new stream for every call, and a service whose streams block after one delta
        let fake = FakeInferenceService(
            chatResult: .success(Self.answer),
            streamScript: .eventsThenBlock([.delta(ChatDelta(content: "first"))])
        )

        try await InProcessMesh.withInference(serving: fake, exchange: true, exchangeAdmission: .zero) { client in
            // When a stream is open on the first stream, another call opens a second and retires the first
            let stream = try await client.openChatStream(Self.request)
            let answer = try await client.chat(Self.request)
            #expect(answer == Self.answer)

            // Then the open stream still delivers, and dropping it still reaches the service
            try await Self.readFirstEventAndDrop(consume stream)
            try await fake.cancelled.wait(timeout: .seconds(20))
        }
        #expect(fake.streamRequests.count == 1)
        #expect(fake.chatRequests.count == 1)
    }

    private static func readFirstEventAndDrop(_ stream: consuming ChatStream) async throws {
        var iterator = stream.events.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first == .delta(ChatDelta(content: "first")))
    }

    @Test("the service ends a call at its deadline with DEADLINE_EXCEEDED and cancels its work")
    func serviceEnforcesDeadline() async throws {
        // Given a service whose chat call runs until cancelled
        let fake = FakeInferenceService(chatScript: .blockUntilCancelled)
        var request = Sluice_Inference_V1_ChatRequest()
        request.model = "gpt-4o"

        // When a caller that never gives up itself sends a call with a 200 ms deadline, and half-closes
        let start = Sluice_Inference_V1_ExchangeRequest.start(1, request, timeoutMs: 200)
        var options = CallOptions.defaults
        options.timeout = .seconds(10)  // bounds the test if the service does not end the call
        let events = try await InProcessMesh.withRawInference(serving: fake) { client in
            try await client.exchange(
                request: StreamingClientRequest(of: Sluice_Inference_V1_ExchangeRequest.self) { writer in
                    try await writer.write(start)
                },
                options: options
            ) { response in
                var events: [Sluice_Inference_V1_ExchangeEvent] = []
                for try await event in response.messages { events.append(event) }
                return events
            }
        }

        // Then the service answered DEADLINE_EXCEEDED for it, ended the stream, and stopped the work
        #expect(events.map(\.callID) == [1])
        #expect(events.first?.status.code == Int32(Status.Code.deadlineExceeded.rawValue))
        #expect(fake.chatCancelled.hasFired)
    }

    @Test("without an exchange server plugged in, Exchange answers UNIMPLEMENTED and plain calls still work")
    func exchangeNotServed() async throws {
        // Given an inference service served without the exchange machinery
        let fake = FakeInferenceService(chatResult: .success(Self.answer))
        let (error, answer) = try await InProcessMesh.withRawInference(serving: fake, exchange: false) { client in
            // When a caller opens an Exchange stream, then calls Chat
            let error = await #expect(throws: RPCError.self) {
                try await client.exchange(
                    request: StreamingClientRequest(of: Sluice_Inference_V1_ExchangeRequest.self) { _ in },
                    options: .defaults
                ) { response in
                    for try await _ in response.messages {}
                }
            }
            let answer = try await client.chat(Sluice_Inference_V1_ChatRequest(Self.request))
            return (error, answer)
        }

        // Then the stream is refused as not implemented, and the unary call is answered
        #expect(error?.code == .unimplemented)
        #expect(answer.choices.first?.message.content.first?.text == "Hello")
    }

    @Test("bad messages are answered with a status for their call, and the stream goes on")
    func badMessages() async throws {
        // Given a service with a blocking stream and a fixed chat answer
        let fake = FakeInferenceService(
            chatResult: .success(Self.answer),
            streamScript: .eventsThenBlock([.delta(ChatDelta(content: "first"))])
        )
        var valid = Sluice_Inference_V1_ChatRequest()
        valid.model = "gpt-4o"
        var message = Sluice_Inference_V1_Message()
        message.role = .user
        var text = Sluice_Inference_V1_ContentPart()
        text.text = "Tell me"
        message.content = [text]
        valid.messages = [message]
        var roleless = valid
        roleless.messages[0].role = .unspecified

        // When a caller opens stream call 9, then sends a duplicate 9, a call 0, a call without deadline, a message
        // that neither starts nor cancels, a request with no role, a cancel of an unknown call, a valid call 8 and
        // a cancel of 9, and half-closes
        let events = try await InProcessMesh.withRawInference(serving: fake) { client in
            let messages: [Sluice_Inference_V1_ExchangeRequest] = [
                .start(9, valid, stream: true),
                .start(9, valid, stream: true),
                .start(0, valid),
                .start(5, valid, timeoutMs: 0),
                .init(),
                .start(7, roleless),
                .cancel(99),
                .start(8, valid),
                .cancel(9),
            ]
            let received = Mutex<[Sluice_Inference_V1_ExchangeEvent]>([])
            let streamOpened = Signal()
            try await client.exchange(
                request: StreamingClientRequest(of: Sluice_Inference_V1_ExchangeRequest.self) { writer in
                    try await writer.write(messages[0])
                    // Call 9 must be open when the duplicate arrives.
                    try await streamOpened.wait(timeout: .seconds(20))
                    try await writer.write(contentsOf: messages.dropFirst())
                }
            ) { response in
                for try await event in response.messages {
                    received.withLock { $0.append(event) }
                    if event.callID == 9, case .event = event.kind { streamOpened.fire() }
                }
            }
            return received.withLock { $0 }
        }

        // Then each bad message got its own status, the valid call its answer, and the cancelled stream CANCELLED
        func statuses(_ id: UInt64) -> [(Int32, String)] {
            events.filter { $0.callID == id }.compactMap {
                if case .status(let status) = $0.kind { return (status.code, status.message) }
                return nil
            }
        }
        let invalidArgument = Int32(Status.Code.invalidArgument.rawValue)
        #expect(statuses(0).map(\.0) == [invalidArgument, invalidArgument], "call 0, and the message with no kind")
        #expect(statuses(0).last?.1.contains("must start or cancel") == true)
        #expect(statuses(5).map(\.0) == [invalidArgument])
        #expect(statuses(5).first?.1.contains("timeout_ms") == true)
        #expect(statuses(7).map(\.0) == [invalidArgument])
        let roleStatus = events.first { $0.callID == 7 }?.status
        #expect(roleStatus?.metadata["sluice-error-code"] == "invalid_request")
        #expect(events.contains { $0.callID == 8 && $0.response.id == Self.answer.id })
        #expect(statuses(9).map(\.0) == [invalidArgument, Int32(Status.Code.cancelled.rawValue)])
        #expect(statuses(9).first?.1.contains("already open") == true)
        #expect(events.filter { $0.callID == 99 }.isEmpty)
        try await fake.cancelled.wait(timeout: .seconds(20))
    }
}

extension Sluice_Inference_V1_ExchangeRequest {
    fileprivate static func start(
        _ id: UInt64,
        _ request: Sluice_Inference_V1_ChatRequest,
        stream: Bool = false,
        timeoutMs: Int64 = 10_000
    ) -> Self {
        var message = Self()
        message.callID = id
        message.start.request = request
        message.start.stream = stream
        message.start.timeoutMs = timeoutMs
        return message
    }

    fileprivate static func cancel(_ id: UInt64) -> Self {
        var message = Self()
        message.callID = id
        message.cancel = true
        return message
    }
}
