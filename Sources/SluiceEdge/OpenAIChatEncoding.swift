import Foundation
import SluiceInference

/// The JSON that `/v1/chat/completions` answers with: completions, stream chunks and model lists.
enum OpenAIChatEncoding {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    struct WireUsage: Encodable {
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

        enum CodingKeys: String, CodingKey {
            case estimated
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    struct WireToolCall: Encodable {
        var index: Int?
        var id: String?
        var type: String?
        var function: Function

        struct Function: Encodable {
            var name: String?
            var arguments: String?
        }
    }

    // MARK: - Completion

    static func completion(_ response: ChatResponse, model: String) -> [UInt8] {
        struct Completion: Encodable {
            var id: String
            var object = "chat.completion"
            var created: Int64
            var model: String
            var choices: [Choice]
            var usage: WireUsage

            struct Choice: Encodable {
                var index = 0
                var message: Message
                var finishReason: String
                var logprobs: String? = nil

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(index, forKey: .index)
                    try container.encode(message, forKey: .message)
                    try container.encode(finishReason, forKey: .finishReason)
                    try container.encodeNil(forKey: .logprobs)
                }

                enum CodingKeys: String, CodingKey {
                    case index, message, logprobs
                    case finishReason = "finish_reason"
                }
            }

            struct Message: Encodable {
                var role = "assistant"
                var content: String?
                var toolCalls: [WireToolCall]?

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(role, forKey: .role)
                    try container.encode(content, forKey: .content)
                    try container.encodeIfPresent(toolCalls, forKey: .toolCalls)
                }

                enum CodingKeys: String, CodingKey {
                    case role, content
                    case toolCalls = "tool_calls"
                }
            }
        }
        let message = response.message
        let calls = message.toolCalls.map {
            WireToolCall(id: $0.id, type: "function", function: .init(name: $0.name, arguments: $0.arguments))
        }
        let text = message.text
        let completion = Completion(
            id: response.id,
            created: response.created,
            model: model,
            choices: [
                .init(
                    message: .init(
                        content: text.isEmpty && !calls.isEmpty ? nil : text,
                        toolCalls: calls.isEmpty ? nil : calls
                    ),
                    finishReason: response.finishReason.rawValue
                )
            ],
            usage: WireUsage(response.usage)
        )
        return encode(completion)
    }

    // MARK: - Stream chunks

    /// One `chat.completion.chunk`, as it goes after `data: `.
    struct Chunk: Encodable {
        var id: String
        var created: Int64
        var model: String
        var delta: Delta?
        var finishReason: String?
        var usage: WireUsage?
        var includeUsageField: Bool

        struct Delta: Encodable {
            var role: String?
            var content: String?
            var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case role, content
                case toolCalls = "tool_calls"
            }
        }

        enum CodingKeys: String, CodingKey {
            case id, object, created, model, choices, usage
        }

        enum ChoiceKeys: String, CodingKey {
            case index, delta, logprobs
            case finishReason = "finish_reason"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode("chat.completion.chunk", forKey: .object)
            try container.encode(created, forKey: .created)
            try container.encode(model, forKey: .model)
            var choices = container.nestedUnkeyedContainer(forKey: .choices)
            if let delta {
                var choice = choices.nestedContainer(keyedBy: ChoiceKeys.self)
                try choice.encode(0, forKey: .index)
                try choice.encode(delta, forKey: .delta)
                try choice.encode(finishReason, forKey: .finishReason)
                try choice.encodeNil(forKey: .logprobs)
            }
            if includeUsageField { try container.encode(usage, forKey: .usage) }
        }
    }

    static func chunk(_ chunk: Chunk) -> [UInt8] {
        encode(chunk)
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
