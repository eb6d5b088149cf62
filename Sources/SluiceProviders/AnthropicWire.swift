import Foundation
import SluiceInference

/// The Anthropic Messages wire format, as the provider sends and reads it.
///
/// Every function here is pure, so the translation is tested without HTTP: this file encodes requests,
/// `AnthropicWire+Response.swift` decodes complete answers and `AnthropicWire+Stream.swift` translates stream
/// events.
enum AnthropicWire {
    /// The `max_tokens` sent when the request sets none; the Messages API requires the field.
    static let defaultMaxTokens = 4096

    // MARK: - Encoding

    /// Encodes a request as the JSON body of `POST /v1/messages`.
    ///
    /// - Throws: ``InferenceError`` `invalid_request` when the request cannot be expressed (tool-call
    ///   arguments or a tool schema that is not a JSON object, an image URL of an unsupported scheme, a tool
    ///   message without a call id).
    static func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        Array(try JSONEncoder().encode(requestBody(request, upstreamModel: upstreamModel, stream: stream)))
    }

    /// The request body as a JSON value.
    static func requestBody(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel),
            "max_tokens": .number(Double(request.maxTokens ?? defaultMaxTokens)),
            "messages": .array(try messages(request.messages)),
        ]
        let system = systemPrompt(request.messages)
        if !system.isEmpty { body["system"] = .string(system) }
        // The Messages API rejects `tool_choice` without tools.
        if !request.tools.isEmpty {
            body["tools"] = .array(try request.tools.map(tool))
            if let choice = toolChoice(request.toolChoice, parallelToolCalls: request.parallelToolCalls) {
                body["tool_choice"] = choice
            }
        }
        if let value = request.temperature { body["temperature"] = .number(value) }
        if let value = request.topP { body["top_p"] = .number(value) }
        if !request.stop.isEmpty { body["stop_sequences"] = .array(request.stop.map(JSONValue.string)) }
        if let value = request.user { body["metadata"] = .object(["user_id": .string(value)]) }
        if stream { body["stream"] = .bool(true) }
        return .object(body)
    }

    /// The text of all system and developer messages, joined by blank lines.
    static func systemPrompt(_ messages: [ChatMessage]) -> String {
        messages
            .filter { $0.role == .system || $0.role == .developer }
            .map(\.text)
            .filter { !$0.isEmpty }
            .joined(separator: "\n\n")
    }

    /// The `messages` array: alternating user and assistant turns of content blocks.
    ///
    /// Tool messages become `tool_result` blocks of a user turn; consecutive turns of the same role merge into
    /// one, with the tool results first as the API requires; messages without content are left out.
    static func messages(_ messages: [ChatMessage]) throws -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for message in messages {
            let role: String
            let blocks: [JSONValue]
            switch message.role {
            case .system, .developer:
                continue
            case .user:
                role = "user"
                blocks = try message.content.compactMap(block)
            case .assistant:
                role = "assistant"
                blocks = try message.content.compactMap(block) + message.toolCalls.map(toolUse)
            case .tool:
                role = "user"
                blocks = [try toolResult(message)]
            }
            guard !blocks.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { turn in
            let results = turn.blocks.filter(isToolResult)
            let others = turn.blocks.filter { !isToolResult($0) }
            return .object(["role": .string(turn.role), "content": .array(results + others)])
        }
    }

    /// A content block for one content part, or `nil` for empty text (which the API rejects).
    static func block(_ part: ChatMessage.ContentPart) throws -> JSONValue? {
        switch part {
        case .text(let text):
            return text.isEmpty ? nil : .object(["type": .string("text"), "text": .string(text)])
        case .imageURL(let url, _):
            return .object(["type": .string("image"), "source": try imageSource(url)])
        }
    }

    /// The `source` of an image block: `base64` for a `data:` URL, `url` for an http(s) URL.
    static func imageSource(_ url: String) throws -> JSONValue {
        let lowercased = url.lowercased()
        if lowercased.hasPrefix("http://") || lowercased.hasPrefix("https://") {
            return .object(["type": .string("url"), "url": .string(url)])
        }
        guard lowercased.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw InferenceError(.invalidRequest, "Images must be given as data: URLs or http(s) URLs")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].split(separator: ";")
        guard let mediaType = header.first, mediaType.contains("/"),
            header.dropFirst().contains(where: { $0.lowercased() == "base64" })
        else {
            throw InferenceError(.invalidRequest, "An image data: URL must name its media type and be base64-encoded")
        }
        return .object([
            "type": .string("base64"),
            "media_type": .string(String(mediaType).lowercased()),
            "data": .string(String(url[url.index(after: comma)...])),
        ])
    }

    /// A `tool_use` block for a call the assistant made, with its arguments parsed into `input`.
    static func toolUse(_ call: ToolCall) throws -> JSONValue {
        let arguments = call.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let input: JSONValue
        if arguments.isEmpty {
            input = .object([:])
        } else if let parsed = JSONValue.parse(arguments), case .object = parsed {
            input = parsed
        } else {
            throw InferenceError(
                .invalidRequest,
                "The arguments of tool call '\(call.id)' (\(call.name)) are not a JSON object"
            )
        }
        return .object([
            "type": .string("tool_use"),
            "id": .string(call.id),
            "name": .string(call.name),
            "input": input,
        ])
    }

    /// A `tool_result` block for a tool message.
    static func toolResult(_ message: ChatMessage) throws -> JSONValue {
        guard let id = message.toolCallID, !id.isEmpty else {
            throw InferenceError(.invalidRequest, "A tool message needs the tool_call_id of the call it answers")
        }
        let onlyText = message.content.allSatisfy { if case .text = $0 { true } else { false } }
        let content: JSONValue = onlyText ? .string(message.text) : .array(try message.content.compactMap(block))
        return .object(["type": .string("tool_result"), "tool_use_id": .string(id), "content": content])
    }

    private static func isToolResult(_ block: JSONValue) -> Bool {
        block["type"] == .string("tool_result")
    }

    /// A tool definition: `name`, `description` and `input_schema`.
    static func tool(_ tool: ToolDefinition) throws -> JSONValue {
        var schema: [String: JSONValue] = ["type": .string("object"), "properties": .object([:])]
        if let text = tool.parametersJSON {
            guard let parsed = JSONValue.parse(text), case .object(let members) = parsed else {
                throw InferenceError(.invalidRequest, "The parameters of tool '\(tool.name)' are not a JSON object")
            }
            // An empty OpenAI schema (`{}`) means "no parameters"; Anthropic insists on a type.
            schema = members.isEmpty ? schema : members
            if schema["type"] == nil { schema["type"] = .string("object") }
        }
        var object: [String: JSONValue] = ["name": .string(tool.name), "input_schema": .object(schema)]
        if let description = tool.description { object["description"] = .string(description) }
        return .object(object)
    }

    /// The `tool_choice` object, or `nil` to leave the choice to the upstream.
    static func toolChoice(_ choice: ToolChoice?, parallelToolCalls: Bool?) -> JSONValue? {
        var object: [String: JSONValue]
        switch choice {
        case nil:
            guard parallelToolCalls == false else { return nil }
            object = ["type": .string("auto")]
        case .some(.none):
            return .object(["type": .string("none")])
        case .some(.auto):
            object = ["type": .string("auto")]
        case .some(.required):
            object = ["type": .string("any")]
        case .some(.function(let name)):
            object = ["type": .string("tool"), "name": .string(name)]
        }
        if parallelToolCalls == false { object["disable_parallel_tool_use"] = .bool(true) }
        return .object(object)
    }
}
