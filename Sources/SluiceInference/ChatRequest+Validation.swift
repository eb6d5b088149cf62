extension ChatRequest {
    /// Checks the request against the rules every caller must follow, whichever surface it came through.
    ///
    /// The HTTP edge checks the OpenAI shape first and names OpenAI's parameters; gRPC callers reach this check
    /// directly. Rules: a model and at least one message; sampling parameters in their ranges; at most four stop
    /// sequences; tool messages name the call they answer; a forced tool is among the tools.
    ///
    /// - Throws: ``InferenceError`` with ``InferenceError/Code/invalidRequest`` naming the first problem.
    package func validate() throws {
        func invalid(_ message: String) -> InferenceError { InferenceError(.invalidRequest, message) }
        guard !model.isEmpty else { throw invalid("A model is required") }
        guard !messages.isEmpty else { throw invalid("At least one message is required") }
        func check(_ value: Double?, _ range: ClosedRange<Double>, _ name: String) throws {
            if let value, !(value.isFinite && range.contains(value)) {
                throw invalid("\(name) must be between \(range.lowerBound) and \(range.upperBound)")
            }
        }
        try check(temperature, 0...2, "temperature")
        try check(topP, 0...1, "top_p")
        try check(presencePenalty, -2...2, "presence_penalty")
        try check(frequencyPenalty, -2...2, "frequency_penalty")
        if let maxTokens, maxTokens < 1 { throw invalid("max_tokens must be at least 1") }
        guard stop.count <= 4 else { throw invalid("At most 4 stop sequences are allowed") }
        for (index, message) in messages.enumerated() {
            if message.role == .tool, (message.toolCallID ?? "").isEmpty {
                throw invalid("messages[\(index)] is a tool message without tool_call_id")
            }
            if !message.toolCalls.isEmpty, message.role != .assistant {
                throw invalid("messages[\(index)]: only assistant messages may carry tool calls")
            }
        }
        if case .function(let name) = toolChoice, !tools.contains(where: { $0.name == name }) {
            throw invalid("tool_choice names '\(name)', which is not among the tools")
        }
        if toolChoice == .required, tools.isEmpty { throw invalid("tool_choice 'required' needs tools") }
    }
}
