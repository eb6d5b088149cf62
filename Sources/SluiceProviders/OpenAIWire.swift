import Foundation
import SluiceInference
import SluiceJSON

/// The OpenAI chat completions wire format, as the provider sends and reads it.
enum OpenAIWire {
    // MARK: - Encoding

    static func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        var json = JSONWriter(capacity: 256 + request.messages.reduce(0) { $0 + $1.text.utf8.count })
        json.beginObject()
        json.key("model")
        json.string(upstreamModel)
        json.key("messages")
        json.beginArray()
        for message in request.messages { write(message, to: &json) }
        json.endArray()
        if !request.tools.isEmpty {
            json.key("tools")
            json.beginArray()
            for tool in request.tools { write(tool, to: &json) }
            json.endArray()
        }
        if let choice = request.toolChoice {
            json.key("tool_choice")
            switch choice {
            case .none: json.string("none")
            case .auto: json.string("auto")
            case .required: json.string("required")
            case .function(let name):
                json.beginObject()
                json.key("type")
                json.string("function")
                json.key("function")
                json.beginObject()
                json.key("name")
                json.string(name)
                json.endObject()
                json.endObject()
            }
        }
        if let value = request.parallelToolCalls {
            json.key("parallel_tool_calls")
            json.bool(value)
        }
        if let value = request.temperature {
            json.key("temperature")
            json.double(value)
        }
        if let value = request.topP {
            json.key("top_p")
            json.double(value)
        }
        if let value = request.maxTokens {
            json.key("max_tokens")
            json.int(value)
        }
        if !request.stop.isEmpty {
            json.key("stop")
            json.beginArray()
            for value in request.stop { json.string(value) }
            json.endArray()
        }
        if let value = request.seed {
            json.key("seed")
            json.int(value)
        }
        if let value = request.presencePenalty {
            json.key("presence_penalty")
            json.double(value)
        }
        if let value = request.frequencyPenalty {
            json.key("frequency_penalty")
            json.double(value)
        }
        if let value = request.user {
            json.key("user")
            json.string(value)
        }
        switch request.responseFormat {
        case .none: break
        case .text, .jsonObject:
            json.key("response_format")
            json.beginObject()
            json.key("type")
            json.string(request.responseFormat == .text ? "text" : "json_object")
            json.endObject()
        case .jsonSchema(let name, let schemaJSON, let strict):
            json.key("response_format")
            json.beginObject()
            json.key("type")
            json.string("json_schema")
            json.key("json_schema")
            json.beginObject()
            json.key("name")
            json.string(name)
            json.key("schema")
            writeEmbedded(schemaJSON, to: &json)
            if let strict {
                json.key("strict")
                json.bool(strict)
            }
            json.endObject()
            json.endObject()
        }
        if stream {
            json.key("stream")
            json.bool(true)
            json.key("stream_options")
            json.beginObject()
            json.key("include_usage")
            json.bool(true)
            json.endObject()
        }
        json.endObject()
        return json.bytes
    }

    private static func write(_ message: ChatMessage, to json: inout JSONWriter) {
        json.beginObject()
        json.key("role")
        json.string(message.role.rawValue)
        json.key("content")
        let onlyText = message.content.allSatisfy { if case .text = $0 { true } else { false } }
        if message.content.isEmpty {
            if message.toolCalls.isEmpty { json.string("") } else { json.null() }
        } else if onlyText {
            json.string(message.text)
        } else {
            json.beginArray()
            for part in message.content {
                json.beginObject()
                switch part {
                case .text(let text):
                    json.key("type")
                    json.string("text")
                    json.key("text")
                    json.string(text)
                case .imageURL(let url, let detail):
                    json.key("type")
                    json.string("image_url")
                    json.key("image_url")
                    json.beginObject()
                    json.key("url")
                    json.string(url)
                    if let detail {
                        json.key("detail")
                        json.string(detail)
                    }
                    json.endObject()
                }
                json.endObject()
            }
            json.endArray()
        }
        if let name = message.name {
            json.key("name")
            json.string(name)
        }
        if !message.toolCalls.isEmpty {
            json.key("tool_calls")
            json.beginArray()
            for call in message.toolCalls {
                json.beginObject()
                json.key("id")
                json.string(call.id)
                json.key("type")
                json.string("function")
                json.key("function")
                json.beginObject()
                json.key("name")
                json.string(call.name)
                json.key("arguments")
                json.string(call.arguments)
                json.endObject()
                json.endObject()
            }
            json.endArray()
        }
        if let id = message.toolCallID {
            json.key("tool_call_id")
            json.string(id)
        }
        json.endObject()
    }

    private static func write(_ tool: ToolDefinition, to json: inout JSONWriter) {
        json.beginObject()
        json.key("type")
        json.string("function")
        json.key("function")
        json.beginObject()
        json.key("name")
        json.string(tool.name)
        if let description = tool.description {
            json.key("description")
            json.string(description)
        }
        if let parameters = tool.parametersJSON {
            json.key("parameters")
            writeEmbedded(parameters, to: &json)
        }
        if let strict = tool.strict {
            json.key("strict")
            json.bool(strict)
        }
        json.endObject()
        json.endObject()
    }

    /// Writes a schema held as JSON text; text that is not one JSON value (possible from a gRPC caller) becomes `{}`.
    private static func writeEmbedded(_ text: String, to json: inout JSONWriter) {
        var reader = JSONReader(Array(text.utf8))
        if (try? reader.skipValue()) != nil, (try? reader.finish()) != nil {
            json.raw(text)
        } else {
            json.raw("{}")
        }
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
