import Foundation
import SluiceInference
import SluiceJSON

/// The JSON that `/v1/chat/completions` answers with: completions, stream chunks and model lists.
enum OpenAIChatEncoding {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    struct WireUsage {
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int
        var estimated: Bool

        init(_ usage: Usage) {
            promptTokens = usage.promptTokens
            completionTokens = usage.completionTokens
            totalTokens = usage.totalTokens
            estimated = usage.isEstimated
        }
    }

    struct WireToolCall {
        var index: Int?
        var id: String?
        var type: String?
        var function: Function

        struct Function {
            var name: String?
            var arguments: String?
        }
    }

    // MARK: - Completion

    /// A `chat.completion` object, written directly (this runs on every non-streamed request).
    static func completion(_ response: ChatResponse, model: String) -> [UInt8] {
        let message = response.message
        let text = message.text
        var json = JSONWriter(capacity: 256 + text.utf8.count)
        json.beginObject()
        json.member("id", response.id)
        json.member("object", "chat.completion")
        json.member("created", response.created)
        json.member("model", model)
        json.key("choices")
        json.beginArray()
        json.beginObject()
        json.member("index", 0)
        json.key("message")
        json.beginObject()
        json.member("role", "assistant")
        json.key("content")
        json.string(text.isEmpty && !message.toolCalls.isEmpty ? nil : text)
        if !message.toolCalls.isEmpty {
            json.key("tool_calls")
            json.beginArray()
            for call in message.toolCalls {
                write(
                    WireToolCall(
                        id: call.id,
                        type: "function",
                        function: .init(name: call.name, arguments: call.arguments)
                    ),
                    to: &json
                )
            }
            json.endArray()
        }
        json.endObject()
        json.member("finish_reason", response.finishReason.rawValue)
        json.key("logprobs")
        json.null()
        json.endObject()
        json.endArray()
        json.key("usage")
        write(WireUsage(response.usage), to: &json)
        json.endObject()
        return json.bytes
    }

    // MARK: - Stream chunks

    /// One `chat.completion.chunk`, as it goes after `data: `.
    struct Chunk {
        var id: String
        var created: Int64
        var model: String
        var delta: Delta?
        var finishReason: String?
        var usage: WireUsage?
        var includeUsageField: Bool

        struct Delta {
            var role: String?
            var content: String?
            var toolCalls: [WireToolCall]?
        }
    }

    /// A chunk's JSON, written directly (this runs for every streamed token).
    static func chunk(_ chunk: Chunk) -> [UInt8] {
        var json = JSONWriter(capacity: 192 + (chunk.delta?.content?.utf8.count ?? 0))
        json.beginObject()
        json.member("id", chunk.id)
        json.member("object", "chat.completion.chunk")
        json.member("created", chunk.created)
        json.member("model", chunk.model)
        json.key("choices")
        json.beginArray()
        if let delta = chunk.delta {
            json.beginObject()
            json.member("index", 0)
            json.key("delta")
            json.beginObject()
            json.member("role", delta.role)
            json.member("content", delta.content)
            if let calls = delta.toolCalls {
                json.key("tool_calls")
                json.beginArray()
                for call in calls { write(call, to: &json) }
                json.endArray()
            }
            json.endObject()
            json.key("finish_reason")
            json.string(chunk.finishReason)
            json.key("logprobs")
            json.null()
            json.endObject()
        }
        json.endArray()
        if chunk.includeUsageField {
            json.key("usage")
            if let usage = chunk.usage { write(usage, to: &json) } else { json.null() }
        }
        json.endObject()
        return json.bytes
    }

    private static func write(_ usage: WireUsage, to json: inout JSONWriter) {
        json.beginObject()
        json.member("prompt_tokens", usage.promptTokens)
        json.member("completion_tokens", usage.completionTokens)
        json.member("total_tokens", usage.totalTokens)
        json.member("estimated", usage.estimated)
        json.endObject()
    }

    private static func write(_ call: WireToolCall, to json: inout JSONWriter) {
        json.beginObject()
        json.member("index", call.index)
        json.member("id", call.id)
        json.member("type", call.type)
        json.key("function")
        json.beginObject()
        json.member("name", call.function.name)
        json.member("arguments", call.function.arguments)
        json.endObject()
        json.endObject()
    }

    static func deltaChunk(_ delta: ChatDelta) -> Chunk.Delta {
        Chunk.Delta(
            role: nil,
            content: delta.content,
            toolCalls: delta.toolCalls.isEmpty
                ? nil
                : delta.toolCalls.map {
                    WireToolCall(
                        index: $0.index,
                        id: $0.id,
                        type: $0.id == nil ? nil : "function",
                        function: .init(name: $0.name, arguments: $0.arguments)
                    )
                }
        )
    }

    // MARK: - Models

    static func models(_ models: [ModelDescriptor]) -> [UInt8] {
        struct List: Encodable {
            var object = "list"
            var data: [Model]
        }
        struct Model: Encodable {
            var id: String
            var object = "model"
            var created: Int64 = 0
            var ownedBy: String

            enum CodingKeys: String, CodingKey {
                case id, object, created
                case ownedBy = "owned_by"
            }
        }
        return encode(List(data: models.map { Model(id: $0.id, ownedBy: $0.ownedBy) }))
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}
