import SluiceEdge

/// Decoding the common request shapes without `Codable`, which costs more than anything else Sluice does to a
/// small request.
///
/// The fast path reads plain chat requests: messages with text, parts or tool calls, and the scalar parameters.
/// It declines (returns `nil`) anything else, tools, `tool_choice` objects, JSON-schema response formats,
/// duplicate members, numbers in forms it does not read, and any malformed or mistyped value, and
/// ``FastOpenAIChatCodec`` then runs `JSONDecoder`. So every request is accepted or rejected, with the same error,
/// exactly as the `Decodable` definition says; a test checks the two paths agree.
extension OpenAIChatRequest {
    /// The request read the fast way, or `nil` when it must go through `JSONDecoder`.
    ///
    /// - Parameter body: The raw body.
    static func fastDecode(_ body: [UInt8]) -> OpenAIChatRequest? {
        var reader = JSONReader(body)
        do {
            let request = try readRequest(&reader)
            try reader.finish()
            return request
        } catch {
            return nil
        }
    }

    /// Why the fast path declined; never shown to anyone.
    private struct Declined: Error {}

    private static func readRequest(_ reader: inout JSONReader) throws -> OpenAIChatRequest {
        var model: String?
        var messages: [Message]?
        var request = OpenAIChatRequest(model: "", messages: [])
        var seen = Set<String>()
        try reader.readObject { reader, key in
            guard seen.insert(key).inserted else { throw Declined() }
            switch key {
            case "model": model = try reader.readString()
            case "messages":
                var list: [Message] = []
                try reader.readArray { reader in list.append(try readMessage(&reader)) }
                messages = list
            case "stream": request.stream = try optional(&reader) { try $0.readBool() }
            case "stream_options":
                request.streamOptions = try optional(&reader) { reader in
                    var options = StreamOptions()
                    var seenOption = false
                    try reader.readObject { reader, key in
                        guard key == "include_usage" else { return try reader.skipValue() }
                        guard !seenOption else { throw Declined() }
                        seenOption = true
                        options.includeUsage = try optional(&reader) { try $0.readBool() }
                    }
                    return options
                }
            case "tool_choice":
                request.toolChoice = try optional(&reader) { reader in
                    guard try reader.peekKind() == .string else { throw Declined() }
                    return .mode(try reader.readString())
                }
            case "parallel_tool_calls": request.parallelToolCalls = try optional(&reader) { try $0.readBool() }
            case "temperature": request.temperature = try optional(&reader) { try $0.readDouble() }
            case "top_p": request.topP = try optional(&reader) { try $0.readDouble() }
            case "n": request.n = try optional(&reader) { try $0.readInt() }
            case "max_tokens": request.maxTokens = try optional(&reader) { try $0.readInt() }
            case "max_completion_tokens": request.maxCompletionTokens = try optional(&reader) { try $0.readInt() }
            case "stop":
                request.stop = try optional(&reader) { reader in
                    if try reader.peekKind() == .string { return .one(try reader.readString()) }
                    var values: [String] = []
                    try reader.readArray { values.append(try $0.readString()) }
                    return .many(values)
                }
            case "seed": request.seed = try optional(&reader) { Int64(try $0.readInt()) }
            case "presence_penalty": request.presencePenalty = try optional(&reader) { try $0.readDouble() }
            case "frequency_penalty": request.frequencyPenalty = try optional(&reader) { try $0.readDouble() }
            case "user": request.user = try optional(&reader) { try $0.readString() }
            case "response_format":
                request.responseFormat = try optional(&reader) { reader in
                    var type: String?
                    try reader.readObject { reader, key in
                        guard key == "type", type == nil else { throw Declined() }
                        type = try reader.readString()
                    }
                    guard let type else { throw Declined() }
                    return ResponseFormat(type: type, jsonSchema: nil)
                }
            case "tools", "functions", "function_call":
                throw Declined()
            default:
                try reader.skipValue()
            }
        }
        guard let model, let messages else { throw Declined() }
        request.model = model
        request.messages = messages
        return request
    }

    private static func readMessage(_ reader: inout JSONReader) throws -> Message {
        var role: String?
        var message = Message(role: "")
        var seen = Set<String>()
        try reader.readObject { reader, key in
            guard seen.insert(key).inserted else { throw Declined() }
            switch key {
            case "role": role = try reader.readString()
            case "content":
                message.content = try optional(&reader) { reader in
                    if try reader.peekKind() == .string { return .text(try reader.readString()) }
                    var parts: [Part] = []
                    try reader.readArray { parts.append(try readPart(&$0)) }
                    return .parts(parts)
                }
            case "name": message.name = try optional(&reader) { try $0.readString() }
            case "tool_call_id": message.toolCallID = try optional(&reader) { try $0.readString() }
            case "tool_calls":
                message.toolCalls = try optional(&reader) { reader in
                    var calls: [ToolCallValue] = []
                    try reader.readArray { calls.append(try readToolCall(&$0)) }
                    return calls
                }
            default:
                try reader.skipValue()
            }
        }
        guard let role else { throw Declined() }
        message.role = role
        return message
    }

    private static func readPart(_ reader: inout JSONReader) throws -> Part {
        var type: String?
        var part = Part(type: "")
        var seen = Set<String>()
        try reader.readObject { reader, key in
            guard seen.insert(key).inserted else { throw Declined() }
            switch key {
            case "type": type = try reader.readString()
            case "text": part.text = try optional(&reader) { try $0.readString() }
            case "image_url":
                part.imageURL = try optional(&reader) { reader in
                    var url: String?
                    var detail: String?
                    var seenImage = Set<String>()
                    try reader.readObject { reader, key in
                        guard seenImage.insert(key).inserted else { throw Declined() }
                        switch key {
                        case "url": url = try reader.readString()
                        case "detail": detail = try optional(&reader) { try $0.readString() }
                        default: try reader.skipValue()
                        }
                    }
                    guard let url else { throw Declined() }
                    return Part.ImageURL(url: url, detail: detail)
                }
            default:
                try reader.skipValue()
            }
        }
        guard let type else { throw Declined() }
        part.type = type
        return part
    }

    private static func readToolCall(_ reader: inout JSONReader) throws -> ToolCallValue {
        var id: String?
        var type: String?
        var function: ToolCallValue.Function?
        var seen = Set<String>()
        try reader.readObject { reader, key in
            guard seen.insert(key).inserted else { throw Declined() }
            switch key {
            case "id": id = try reader.readString()
            case "type": type = try optional(&reader) { try $0.readString() }
            case "function":
                var name: String?
                var arguments: String?
                var seenFunction = Set<String>()
                try reader.readObject { reader, key in
                    guard seenFunction.insert(key).inserted else { throw Declined() }
                    switch key {
                    case "name": name = try reader.readString()
                    case "arguments": arguments = try reader.readString()
                    default: try reader.skipValue()
                    }
                }
                guard let name, let arguments else { throw Declined() }
                function = ToolCallValue.Function(name: name, arguments: arguments)
            default:
                try reader.skipValue()
            }
        }
        guard let id, let function else { throw Declined() }
        return ToolCallValue(id: id, type: type, function: function)
    }

    /// Reads `null` as `nil`, as `decodeIfPresent` does, and anything else with `read`.
    private static func optional<Value>(
        _ reader: inout JSONReader,
        _ read: (inout JSONReader) throws -> Value
    ) throws -> Value? {
        try reader.readNull() ? nil : read(&reader)
    }
}
