import Foundation
import SluiceJSON

/// Reading the upstream's completions and chunks without `Codable` on the hot path.
///
/// Each reader walks only the members Sluice uses and skips the rest. A document it cannot read the fast way
/// (a member of an unexpected type, say) is handed to `JSONDecoder`, so what is accepted and what is rejected is
/// exactly what the `Decodable` definitions say.
extension OpenAIWire {
    /// Reads a non-streamed completion.
    ///
    /// - Parameters:
    ///   - bytes: The response body.
    ///   - fast: Whether to try the fast reader first (`performance.fast_json`); `false` decodes with `JSONDecoder`.
    /// - Returns: The completion.
    /// - Throws: `JSONDecoder`'s error when the body does not match ``Completion``.
    static func readCompletion(_ bytes: [UInt8], fast: Bool = true) throws -> Completion {
        if fast, let completion = try? fastCompletion(bytes) { return completion }
        return try UpstreamHTTP.jsonDecoder.decode(Completion.self, from: Data(bytes))
    }

    /// Reads one streamed chunk.
    ///
    /// - Parameters:
    ///   - bytes: The event's data.
    ///   - fast: Whether to try the fast reader first (`performance.fast_json`); `false` decodes with `JSONDecoder`.
    /// - Returns: The chunk.
    /// - Throws: `JSONDecoder`'s error when the data does not match ``Chunk``.
    static func readChunk(_ bytes: [UInt8], fast: Bool = true) throws -> Chunk {
        if fast, let chunk = try? fastChunk(bytes) { return chunk }
        return try UpstreamHTTP.jsonDecoder.decode(Chunk.self, from: Data(bytes))
    }

    // MARK: - Fast paths

    private struct Missing: Error {}

    private static func fastCompletion(_ bytes: [UInt8]) throws -> Completion {
        var reader = JSONReader(bytes)
        var id: String?
        var choices: [Completion.Choice]?
        var usage: WireUsage?
        try reader.readObject { reader, key in
            switch key {
            case "id": id = try reader.readOptionalString()
            case "usage": usage = try readUsage(&reader)
            case "choices":
                var list: [Completion.Choice] = []
                try reader.readArray { reader in
                    var message: Completion.Message?
                    var finishReason: String?
                    try reader.readObject { reader, key in
                        switch key {
                        case "finish_reason": finishReason = try reader.readOptionalString()
                        case "message":
                            let (content, toolCalls) = try readContentAndToolCalls(&reader)
                            message = Completion.Message(content: content, toolCalls: toolCalls)
                        default: try reader.skipValue()
                        }
                    }
                    guard let message else { throw Missing() }
                    list.append(Completion.Choice(message: message, finishReason: finishReason))
                }
                choices = list
            default: try reader.skipValue()
            }
        }
        try reader.finish()
        guard let choices else { throw Missing() }
        return Completion(id: id, choices: choices, usage: usage)
    }

    private static func fastChunk(_ bytes: [UInt8]) throws -> Chunk {
        var reader = JSONReader(bytes)
        var choices: [Chunk.Choice]?
        var usage: WireUsage?
        try reader.readObject { reader, key in
            switch key {
            case "usage": usage = try readUsage(&reader)
            case "choices":
                var list: [Chunk.Choice] = []
                try reader.readArray { reader in
                    var delta: Chunk.Delta?
                    var finishReason: String?
                    try reader.readObject { reader, key in
                        switch key {
                        case "finish_reason": finishReason = try reader.readOptionalString()
                        case "delta":
                            if try reader.readNull() { return }
                            let (content, toolCalls) = try readContentAndToolCalls(&reader)
                            delta = Chunk.Delta(content: content, toolCalls: toolCalls)
                        default: try reader.skipValue()
                        }
                    }
                    list.append(Chunk.Choice(delta: delta, finishReason: finishReason))
                }
                choices = list
            default: try reader.skipValue()
            }
        }
        try reader.finish()
        guard let choices else { throw Missing() }
        return Chunk(choices: choices, usage: usage)
    }

    /// Reads a completion's `message` or a chunk's `delta`: the members Sluice uses are the same.
    private static func readContentAndToolCalls(
        _ reader: inout JSONReader
    ) throws -> (content: String?, toolCalls: [WireToolCall]?) {
        var content: String?
        var toolCalls: [WireToolCall]?
        try reader.readObject { reader, key in
            switch key {
            case "content": content = try reader.readOptionalString()
            case "tool_calls": toolCalls = try readToolCalls(&reader)
            default: try reader.skipValue()
            }
        }
        return (content, toolCalls)
    }

    private static func readUsage(_ reader: inout JSONReader) throws -> WireUsage? {
        if try reader.readNull() { return nil }
        var prompt: Int?
        var completion: Int?
        try reader.readObject { reader, key in
            switch key {
            case "prompt_tokens": prompt = try reader.readInt()
            case "completion_tokens": completion = try reader.readInt()
            default: try reader.skipValue()
            }
        }
        guard let prompt, let completion else { throw Missing() }
        return WireUsage(promptTokens: prompt, completionTokens: completion)
    }

    private static func readToolCalls(_ reader: inout JSONReader) throws -> [WireToolCall]? {
        if try reader.readNull() { return nil }
        var calls: [WireToolCall] = []
        try reader.readArray { reader in
            var index: Int?
            var id: String?
            var function: WireToolCall.Function?
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
                    function = WireToolCall.Function(name: name, arguments: arguments)
                default: try reader.skipValue()
                }
            }
            guard let function else { throw Missing() }
            calls.append(WireToolCall(index: index, id: id, function: function))
        }
        return calls
    }
}
