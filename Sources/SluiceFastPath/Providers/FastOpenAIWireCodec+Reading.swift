import SluiceProviders

/// Reading the upstream's completions and chunks without `Codable` on the hot path.
///
/// Each reader walks only the members Sluice uses and skips the rest. A document it cannot read the fast way
/// (a member of an unexpected type, say) is handed to `JSONDecoder`, so what is accepted and what is rejected is
/// exactly what the `Decodable` definitions say.
extension FastOpenAIWireCodec {
    // MARK: - Fast paths

    private struct Missing: Error {}

    static func fastCompletion(_ bytes: [UInt8]) throws -> OpenAIWire.Completion {
        var reader = JSONReader(bytes)
        var id: String?
        var choices: [OpenAIWire.Completion.Choice]?
        var usage: OpenAIWire.WireUsage?
        try reader.readObject { reader, key in
            switch key {
            case "id": id = try reader.readOptionalString()
            case "usage": usage = try readUsage(&reader)
            case "choices":
                var list: [OpenAIWire.Completion.Choice] = []
                try reader.readArray { reader in
                    var message: OpenAIWire.Completion.Message?
                    var finishReason: String?
                    try reader.readObject { reader, key in
                        switch key {
                        case "finish_reason": finishReason = try reader.readOptionalString()
                        case "message":
                            let (content, toolCalls) = try readContentAndToolCalls(&reader)
                            message = OpenAIWire.Completion.Message(content: content, toolCalls: toolCalls)
                        default: try reader.skipValue()
                        }
                    }
                    guard let message else { throw Missing() }
                    list.append(OpenAIWire.Completion.Choice(message: message, finishReason: finishReason))
                }
                choices = list
            default: try reader.skipValue()
            }
        }
        try reader.finish()
        guard let choices else { throw Missing() }
        return OpenAIWire.Completion(id: id, choices: choices, usage: usage)
    }

    static func fastChunk(_ bytes: [UInt8]) throws -> OpenAIWire.Chunk {
        var reader = JSONReader(bytes)
        var choices: [OpenAIWire.Chunk.Choice]?
        var usage: OpenAIWire.WireUsage?
        try reader.readObject { reader, key in
            switch key {
            case "usage": usage = try readUsage(&reader)
            case "choices":
                var list: [OpenAIWire.Chunk.Choice] = []
                try reader.readArray { reader in
                    var delta: OpenAIWire.Chunk.Delta?
                    var finishReason: String?
                    try reader.readObject { reader, key in
                        switch key {
                        case "finish_reason": finishReason = try reader.readOptionalString()
                        case "delta":
                            if try reader.readNull() { return }
                            let (content, toolCalls) = try readContentAndToolCalls(&reader)
                            delta = OpenAIWire.Chunk.Delta(content: content, toolCalls: toolCalls)
                        default: try reader.skipValue()
                        }
                    }
                    list.append(OpenAIWire.Chunk.Choice(delta: delta, finishReason: finishReason))
                }
                choices = list
            default: try reader.skipValue()
            }
        }
        try reader.finish()
        guard let choices else { throw Missing() }
        return OpenAIWire.Chunk(choices: choices, usage: usage)
    }

    /// Reads a completion's `message` or a chunk's `delta`: the members Sluice uses are the same.
    private static func readContentAndToolCalls(
        _ reader: inout JSONReader
    ) throws -> (content: String?, toolCalls: [OpenAIWire.WireToolCall]?) {
        var content: String?
        var toolCalls: [OpenAIWire.WireToolCall]?
        try reader.readObject { reader, key in
            switch key {
            case "content": content = try reader.readOptionalString()
            case "tool_calls": toolCalls = try readToolCalls(&reader)
            default: try reader.skipValue()
            }
        }
        return (content, toolCalls)
    }

    private static func readUsage(_ reader: inout JSONReader) throws -> OpenAIWire.WireUsage? {
        if try reader.readNull() { return nil }
        var prompt: Int?
        var completion: Int?
        var cached = 0
        try reader.readObject { reader, key in
            switch key {
            case "prompt_tokens": prompt = try reader.readInt()
            case "completion_tokens": completion = try reader.readInt()
            case "prompt_tokens_details":
                if try reader.readNull() { return }
                try reader.readObject { reader, key in
                    guard key == "cached_tokens" else { return try reader.skipValue() }
                    cached = try reader.readNull() ? 0 : reader.readInt()
                }
            default: try reader.skipValue()
            }
        }
        guard let prompt, let completion else { throw Missing() }
        return OpenAIWire.WireUsage(promptTokens: prompt, completionTokens: completion, cachedTokens: cached)
    }

    private static func readToolCalls(_ reader: inout JSONReader) throws -> [OpenAIWire.WireToolCall]? {
        if try reader.readNull() { return nil }
        var calls: [OpenAIWire.WireToolCall] = []
        try reader.readArray { reader in
            var index: Int?
            var id: String?
            var function: OpenAIWire.WireToolCall.Function?
            try reader.readObject { reader, key in
                switch key {
                case "index": index = try reader.readNull() ? nil : reader.readInt()
                case "id": id = try reader.readOptionalString()
                case "function":
                    var name: String?
                    var arguments: String?
                    try reader.readObject { reader, key in
                        switch key {
                        case "name": name = try reader.readOptionalString()
                        case "arguments": arguments = try reader.readOptionalString()
                        default: try reader.skipValue()
                        }
                    }
                    function = OpenAIWire.WireToolCall.Function(name: name, arguments: arguments)
                default: try reader.skipValue()
                }
            }
            guard let function else { throw Missing() }
            calls.append(OpenAIWire.WireToolCall(index: index, id: id, function: function))
        }
        return calls
    }
}
