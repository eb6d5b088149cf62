import SluiceInference
import Synchronization

/// An ``InferenceService`` that answers from a script and records what it received.
final class FakeInferenceService: InferenceService {
    /// How ``openChatStream(_:)`` behaves.
    enum StreamScript: Sendable {
        /// Throws before the stream opens.
        case failBeforeOpen(InferenceError)
        /// Opens, sends the events, then ends cleanly or with the error.
        case events([ChatStreamEvent], thenFail: InferenceError?)
        /// Opens, sends the events, then waits until the consumer goes away; `cancelled` fires then.
        case eventsThenBlock([ChatStreamEvent])
    }

    /// How ``chat(_:)`` behaves.
    enum ChatScript: Sendable {
        /// Answers with the result.
        case result(Result<ChatResponse, InferenceError>)
        /// Answers with this response, its id replaced by the request's `requestID`.
        case echoRequestID(ChatResponse)
        /// Waits until cancelled; `chatCancelled` fires then.
        case blockUntilCancelled
    }

    private struct State {
        var chatRequests: [ChatRequest] = []
        var streamRequests: [ChatRequest] = []
        var counted: [TokenCountRequest] = []
        var openContinuations: [AsyncThrowingStream<ChatStreamEvent, any Error>.Continuation] = []
    }

    let servedBy = ServedBy(provider: "openai", model: "gpt-4o-2024-08-06", attempt: 2)
    private let chatScript: ChatScript
    private let streamScript: StreamScript
    private let models: [ModelDescriptor]
    private let state = Mutex(State())
    /// Fires when a blocked stream is terminated by its consumer (the server handler).
    let cancelled = Signal()
    /// Fires when a blocked chat call has started.
    let chatStarted = Signal()
    /// Fires when a blocked chat call is cancelled.
    let chatCancelled = Signal()

    init(
        chatResult: Result<ChatResponse, InferenceError> = .failure(InferenceError(.internal, "not scripted")),
        streamScript: StreamScript = .events([], thenFail: nil),
        models: [ModelDescriptor] = []
    ) {
        self.chatScript = .result(chatResult)
        self.streamScript = streamScript
        self.models = models
    }

    init(chatScript: ChatScript) {
        self.chatScript = chatScript
        self.streamScript = .events([], thenFail: nil)
        self.models = []
    }

    var chatRequests: [ChatRequest] { state.withLock { $0.chatRequests } }
    var streamRequests: [ChatRequest] { state.withLock { $0.streamRequests } }
    var counted: [TokenCountRequest] { state.withLock { $0.counted } }

    func chat(_ request: ChatRequest) async throws -> ChatResponse {
        state.withLock { $0.chatRequests.append(request) }
        switch chatScript {
        case .result(let result):
            return try result.get()
        case .echoRequestID(var response):
            response.id = request.requestID
            return response
        case .blockUntilCancelled:
            chatStarted.fire()
            // Returns early only when the call is cancelled.
            try? await Task.sleep(for: .seconds(3600))
            chatCancelled.fire()
            throw CancellationError()
        }
    }

    func openChatStream(_ request: ChatRequest) async throws -> ChatStream {
        state.withLock { $0.streamRequests.append(request) }
        let (events, continuation) = AsyncThrowingStream.makeStream(
            of: ChatStreamEvent.self,
            throwing: (any Error).self
        )
        switch streamScript {
        case .failBeforeOpen(let error):
            throw error
        case .events(let scripted, let error):
            for event in scripted { continuation.yield(event) }
            continuation.finish(throwing: error)
        case .eventsThenBlock(let scripted):
            for event in scripted { continuation.yield(event) }
            let cancelled = self.cancelled
            continuation.onTermination = { _ in cancelled.fire() }
            state.withLock { $0.openContinuations.append(continuation) }
        }
        return ChatStream(id: "chatcmpl-7", created: 1_726_000_000, servedBy: servedBy, events: events)
    }

    func listModels() async throws -> [ModelDescriptor] {
        models
    }

    func countTokens(_ request: TokenCountRequest) async throws -> TokenCountResult {
        state.withLock { $0.counted.append(request) }
        return TokenCountResult(tokens: 42, isEstimated: true, encoding: "cl100k_base")
    }
}
