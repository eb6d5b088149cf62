import SluiceInference

extension OpenAIChatRequest {
    /// Whether the client asked for a stream.
    var isStream: Bool { stream ?? false }

    /// Whether a stream should end with a usage chunk.
    var wantsStreamUsage: Bool { streamOptions?.includeUsage ?? false }

    /// Validates the request and translates it to the provider-neutral shape.
    ///
    /// - Parameter requestID: The request id to carry.
    /// - Returns: The domain request.
    /// - Throws: ``OpenAIError`` 400 naming the invalid parameter.
    func domainRequest(requestID: String) throws -> ChatRequest {
        guard !model.isEmpty else { throw OpenAIError.invalidParameter("'model' must not be empty", param: "model") }
        guard !messages.isEmpty else {
            throw OpenAIError.invalidParameter("'messages' must contain at least one message", param: "messages")
        }
        try Self.check(temperature, in: 0...2, "temperature")
        try Self.check(topP, in: 0...1, "top_p")
        try Self.check(presencePenalty, in: -2...2, "presence_penalty")
        try Self.check(frequencyPenalty, in: -2...2, "frequency_penalty")
        if let n, n != 1 {
            throw OpenAIError.invalidParameter("Only n = 1 is supported", param: "n")
        }
        let limit = maxCompletionTokens ?? maxTokens
        if let limit, limit < 1 {
            throw OpenAIError.invalidParameter(
                "The token limit must be at least 1",
                param: maxCompletionTokens == nil ? "max_tokens" : "max_completion_tokens"
            )
        }
        let stops = stop?.values ?? []
        guard stops.count <= 4 else {
            throw OpenAIError.invalidParameter("At most 4 stop sequences are allowed", param: "stop")
        }

        var request = ChatRequest(model: model, messages: try messages.enumerated().map(Self.domainMessage))
        request.tools = try (tools ?? []).enumerated().map(Self.domainTool)
        request.toolChoice = try domainToolChoice(toolNames: Set(request.tools.map(\.name)))
        request.parallelToolCalls = parallelToolCalls
        request.temperature = temperature
        request.topP = topP
        request.maxTokens = limit
        request.stop = stops
        request.seed = seed
        request.presencePenalty = presencePenalty
        request.frequencyPenalty = frequencyPenalty
        request.responseFormat = try domainResponseFormat()
        request.user = user
        request.includeUsage = true
        request.requestID = requestID
        return request
    }

    private static func check(_ value: Double?, in range: ClosedRange<Double>, _ name: String) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw OpenAIError.invalidParameter(
                "'\(name)' must be between \(range.lowerBound) and \(range.upperBound)",
                param: name
            )
        }
    }

    private static func domainMessage(index: Int, message: Message) throws -> ChatMessage {
        let param = "messages[\(index)]"
        guard let role = ChatMessage.Role(rawValue: message.role) else {
            throw OpenAIError.invalidParameter(
                "Invalid role '\(message.role)'; expected system, developer, user, assistant or tool",
                param: param + ".role"
            )
        }
        var content: [ChatMessage.ContentPart] = []
        switch message.content {
        case .none:
            guard role == .assistant else {
                throw OpenAIError.invalidParameter(
                    "'content' is required for \(role.rawValue) messages",
                    param: param + ".content"
                )
            }
        case .text(let text):
            content = [.text(text)]
        case .parts(let parts):
            content = try parts.enumerated().map { offset, part in
                switch part.type {
                case "text":
                    guard let text = part.text else {
                        throw OpenAIError.invalidParameter(
                            "A text part needs 'text'",
                            param: "\(param).content[\(offset)].text"
                        )
                    }
                    return .text(text)
                case "image_url":
                    guard let image = part.imageURL, role == .user else {
                        throw OpenAIError.invalidParameter(
                            "Image parts need 'image_url' and are allowed in user messages only",
                            param: "\(param).content[\(offset)]"
                        )
                    }
                    return .imageURL(url: image.url, detail: image.detail)
                default:
                    throw OpenAIError.invalidParameter(
                        "Unsupported content part type '\(part.type)'",
                        param: "\(param).content[\(offset)].type"
                    )
                }
            }
        }
        let toolCalls = (message.toolCalls ?? []).map {
            ToolCall(id: $0.id, name: $0.function.name, arguments: $0.function.arguments)
        }
        if !toolCalls.isEmpty, role != .assistant {
            throw OpenAIError.invalidParameter(
                "Only assistant messages may carry tool_calls",
                param: param + ".tool_calls"
            )
        }
        if role == .tool, (message.toolCallID ?? "").isEmpty {
            throw OpenAIError.invalidParameter("Tool messages need 'tool_call_id'", param: param + ".tool_call_id")
        }
        return ChatMessage(
            role: role,
            content: content,
            name: message.name,
            toolCalls: toolCalls,
            toolCallID: message.toolCallID
        )
    }

    private static func domainTool(index: Int, tool: Tool) throws -> ToolDefinition {
        guard tool.type == "function" else {
            throw OpenAIError.invalidParameter("Only function tools are supported", param: "tools[\(index)].type")
        }
        let name = tool.function.name
        let valid =
            !name.isEmpty && name.count <= 64
            && name.utf8.allSatisfy {
                (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45
            }
        guard valid else {
            throw OpenAIError.invalidParameter(
                "Function names must be 1 to 64 letters, digits, '_' or '-'",
                param: "tools[\(index)].function.name"
            )
        }
        return ToolDefinition(
            name: name,
            description: tool.function.description,
            parametersJSON: tool.function.parameters?.text,
            strict: tool.function.strict
        )
    }

    private func domainToolChoice(toolNames: Set<String>) throws -> ToolChoice? {
        switch toolChoice {
        case .none: return nil
        case .mode("none"): return ToolChoice.none
        case .mode("auto"): return .auto
        case .mode("required"):
            guard !toolNames.isEmpty else {
                throw OpenAIError.invalidParameter("tool_choice 'required' needs tools", param: "tool_choice")
            }
            return .required
        case .mode(let other):
            throw OpenAIError.invalidParameter("Invalid tool_choice '\(other)'", param: "tool_choice")
        case .function(let name):
            guard toolNames.contains(name) else {
                throw OpenAIError.invalidParameter(
                    "tool_choice names '\(name)', which is not among the tools",
                    param: "tool_choice"
                )
            }
            return .function(name)
        }
    }

    private func domainResponseFormat() throws -> ChatRequest.ResponseFormat? {
        guard let responseFormat else { return nil }
        switch responseFormat.type {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = responseFormat.jsonSchema else {
                throw OpenAIError.invalidParameter("'json_schema' is required", param: "response_format.json_schema")
            }
            return .jsonSchema(name: schema.name, schemaJSON: schema.schema?.text ?? "{}", strict: schema.strict)
        default:
            throw OpenAIError.invalidParameter(
                "Invalid response_format type '\(responseFormat.type)'",
                param: "response_format.type"
            )
        }
    }
}
