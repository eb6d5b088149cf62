import Foundation

extension ChatRequest {
    /// Checks the request against the rules every caller must follow, whichever surface it came through.
    ///
    /// The HTTP edge checks the OpenAI shape first and names OpenAI's parameters; gRPC callers reach this check
    /// directly. Rules: a model and at least one message; sampling parameters in their ranges; at most four stop
    /// sequences; tool messages name the call they answer; only assistant messages call tools; image parts are
    /// `https://` or `data:image/` URLs; function and schema names are 1 to 64 letters, digits, `_` or `-`, and
    /// function names are unique; schemas are JSON objects; a forced tool is among the tools; a route names a
    /// provider.
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
            for case .imageURL(let url, _) in message.content
            where !(url.hasPrefix("https://") || url.hasPrefix("data:image/")) {
                throw invalid("messages[\(index)]: an image URL must be https:// or a data:image/ URL")
            }
        }
        var names = Set<String>()
        for (index, tool) in tools.enumerated() {
            guard Self.isValidName(tool.name) else {
                throw invalid("tools[\(index)]: function names must be 1 to 64 letters, digits, '_' or '-'")
            }
            guard names.insert(tool.name).inserted else {
                throw invalid("tools[\(index)]: the function name '\(tool.name)' is used twice")
            }
            if let parameters = tool.parametersJSON, !parameters.isEmpty, !Self.isJSONObject(parameters) {
                throw invalid("tools[\(index)]: parameters must be a JSON Schema object")
            }
        }
        if case .jsonSchema(let name, let schema, _) = responseFormat {
            guard Self.isValidName(name) else {
                throw invalid("response_format.json_schema.name must be 1 to 64 letters, digits, '_' or '-'")
            }
            guard Self.isJSONObject(schema) else {
                throw invalid("response_format.json_schema.schema must be a JSON Schema object")
            }
        }
        if let route, route.provider.isEmpty { throw invalid("A route must name a provider") }
        if case .function(let name) = toolChoice, !tools.contains(where: { $0.name == name }) {
            throw invalid("tool_choice names '\(name)', which is not among the tools")
        }
        if toolChoice == .required, tools.isEmpty { throw invalid("tool_choice 'required' needs tools") }
    }

    /// Whether a function or schema name is 1 to 64 ASCII letters, digits, `_` or `-`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }

    /// Whether the text is one JSON object.
    static func isJSONObject(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any]
    }
}
