import Foundation
import SluiceInference

/// The OpenAI chat completions wire format, as the provider sends and reads it.
enum OpenAIWire {
    // MARK: - Encoding

    static func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel),
            "messages": .array(request.messages.map(message)),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(tool))
        }
        if let choice = request.toolChoice {
            switch choice {
            case .none: body["tool_choice"] = .string("none")
            case .auto: body["tool_choice"] = .string("auto")
            case .required: body["tool_choice"] = .string("required")
            case .function(let name):
                body["tool_choice"] = .object([
                    "type": .string("function"), "function": .object(["name": .string(name)]),
                ])
            }
        }
        if let value = request.parallelToolCalls { body["parallel_tool_calls"] = .bool(value) }
        if let value = request.temperature { body["temperature"] = .number(value) }
        if let value = request.topP { body["top_p"] = .number(value) }
        if let value = request.maxTokens { body["max_tokens"] = .number(Double(value)) }
        if !request.stop.isEmpty { body["stop"] = .array(request.stop.map(JSONValue.string)) }
        if let value = request.seed { body["seed"] = .number(Double(value)) }
        if let value = request.presencePenalty { body["presence_penalty"] = .number(value) }
        if let value = request.frequencyPenalty { body["frequency_penalty"] = .number(value) }
        if let value = request.user { body["user"] = .string(value) }
        switch request.responseFormat {
        case .none: break
        case .text: body["response_format"] = .object(["type": .string("text")])
        case .jsonObject: body["response_format"] = .object(["type": .string("json_object")])
        case .jsonSchema(let name, let schemaJSON, let strict):
            var schema: [String: JSONValue] = [
                "name": .string(name), "schema": JSONValue.parse(schemaJSON) ?? .object([:]),
            ]
            if let strict { schema["strict"] = .bool(strict) }
            body["response_format"] = .object(["type": .string("json_schema"), "json_schema": .object(schema)])
        }
        if stream {
            body["stream"] = .bool(true)
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }
        return Array(try JSONEncoder().encode(JSONValue.object(body)))
    }

    private static func message(_ message: ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = ["role": .string(message.role.rawValue)]
        let onlyText = message.content.allSatisfy { if case .text = $0 { true } else { false } }
        if message.content.isEmpty {
            object["content"] = message.toolCalls.isEmpty ? .string("") : .null
        } else if onlyText {
            object["content"] = .string(message.text)
        } else {
            object["content"] = .array(
                message.content.map { part in
                    switch part {
                    case .text(let text):
                        return .object(["type": .string("text"), "text": .string(text)])
                    case .imageURL(let url, let detail):
                        var image: [String: JSONValue] = ["url": .string(url)]
                        if let detail { image["detail"] = .string(detail) }
                        return .object(["type": .string("image_url"), "image_url": .object(image)])
                    }
                }
            )
        }
        if let name = message.name { object["name"] = .string(name) }
        if !message.toolCalls.isEmpty {
            object["tool_calls"] = .array(
                message.toolCalls.map { call in
                    .object([
                        "id": .string(call.id),
                        "type": .string("function"),
                        "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)]),
                    ])
                }
            )
        }
        if let id = message.toolCallID { object["tool_call_id"] = .string(id) }
        return .object(object)
    }

    private static func tool(_ tool: ToolDefinition) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(tool.name)]
        if let description = tool.description { function["description"] = .string(description) }
        if let parameters = tool.parametersJSON { function["parameters"] = JSONValue.parse(parameters) ?? .object([:]) }
        if let strict = tool.strict { function["strict"] = .bool(strict) }
        return .object(["type": .string("function"), "function": .object(function)])
    }

    // MARK: - Decoding

    struct Completion: Decodable {
        var id: String?
        var choices: [Choice]
        var usage: WireUsage?

        struct Choice: Decodable {
            var message: Message
            var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case message
                case finishReason = "finish_reason"
            }
        }

        struct Message: Decodable {
            var content: String?
            var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case content
                case toolCalls = "tool_calls"
            }
        }
    }

    struct WireToolCall: Decodable {
        var index: Int?
        var id: String?
        var function: Function

        struct Function: Decodable {
            var name: String?
            var arguments: String?
        }
    }

    struct WireUsage: Decodable {
        var promptTokens: Int
        var completionTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }

        var domain: Usage { Usage(promptTokens: promptTokens, completionTokens: completionTokens, isEstimated: false) }
    }

    struct Chunk: Decodable {
        var choices: [Choice]
        var usage: WireUsage?

        struct Choice: Decodable {
            var delta: Delta?
            var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }

        struct Delta: Decodable {
            var content: String?
            var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case content
                case toolCalls = "tool_calls"
            }
        }

        /// The domain events this chunk carries, in order: content, finish, usage.
        var events: [ChatStreamEvent] {
            var events: [ChatStreamEvent] = []
            if let choice = choices.first {
                let content = choice.delta?.content.flatMap { $0.isEmpty ? nil : $0 }
                let calls = (choice.delta?.toolCalls ?? []).enumerated().map { offset, call in
                    ToolCallDelta(
                        index: call.index ?? offset,
                        id: call.id,
                        name: call.function.name,
                        arguments: call.function.arguments
                    )
                }
                if content != nil || !calls.isEmpty {
                    events.append(.delta(ChatDelta(content: content, toolCalls: calls)))
                }
                if let reason = choice.finishReason {
                    events.append(.finish(OpenAIWire.finishReason(reason)))
                }
            }
            if let usage { events.append(.usage(usage.domain)) }
            return events
        }
    }

    static func finishReason(_ text: String?) -> FinishReason {
        switch text {
        case "length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .stop
        }
    }
}
