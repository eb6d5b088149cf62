import SluiceInference
import Testing

@Suite("Chat request validation")
struct ChatRequestValidationTests {
    /// Ways to break an otherwise valid request.
    enum Breakage: String, CaseIterable, Sendable {
        case emptyModel, noMessages, hotTemperature, nanTemperature, wideTopP, deepPenalty, zeroMaxTokens
        case fiveStops, toolMessageWithoutCallID, userWithToolCalls, forcedUnknownTool, requiredWithoutTools

        func apply(to request: inout ChatRequest) {
            switch self {
            case .emptyModel: request.model = ""
            case .noMessages: request.messages = []
            case .hotTemperature: request.temperature = 2.5
            case .nanTemperature: request.temperature = .nan
            case .wideTopP: request.topP = 1.5
            case .deepPenalty: request.presencePenalty = -3
            case .zeroMaxTokens: request.maxTokens = 0
            case .fiveStops: request.stop = ["a", "b", "c", "d", "e"]
            case .toolMessageWithoutCallID: request.messages.append(ChatMessage(role: .tool, text: "42"))
            case .userWithToolCalls:
                request.messages = [
                    ChatMessage(
                        role: .user,
                        content: [.text("x")],
                        toolCalls: [ToolCall(id: "1", name: "f", arguments: "{}")]
                    )
                ]
            case .forcedUnknownTool: request.toolChoice = .function("missing")
            case .requiredWithoutTools: request.toolChoice = .required
            }
        }
    }

    static func valid() -> ChatRequest {
        ChatRequest(model: "echo", messages: [ChatMessage(role: .user, text: "hi")])
    }

    @Test("accepts a minimal request")
    func minimal() throws {
        try Self.valid().validate()
    }

    @Test("rejects what no provider could serve, as invalid_request", arguments: Breakage.allCases)
    func rejects(_ breakage: Breakage) {
        // Given
        var request = Self.valid()
        breakage.apply(to: &request)
        // When
        let error = #expect(throws: InferenceError.self) { try request.validate() }
        // Then
        #expect(error?.code == .invalidRequest)
    }
}
