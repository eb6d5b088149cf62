import Foundation
package import SluiceInference

/// The JSON that `/v1/chat/completions` answers with: completions, stream chunks and model lists.
package enum OpenAIChatEncoding {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// A `usage` object.
    package struct WireUsage: Sendable, Encodable {
        /// `prompt_tokens`.
        package var promptTokens: Int
        /// `completion_tokens`.
        package var completionTokens: Int
        /// `total_tokens`.
        package var totalTokens: Int
        /// `estimated`: Sluice's own member, `true` when the counts are the tokenizer's rather than the upstream's.
        package var estimated: Bool

        /// The wire form of a domain usage.
        package init(_ usage: Usage) {
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

    /// A `tool_calls` element, whole in a completion or a fragment in a chunk.
    package struct WireToolCall: Sendable, Encodable {
        /// `index`, in chunks.
        package var index: Int?
        /// `id`.
        package var id: String?
        /// `type`: `function`.
        package var type: String?
        /// `function`.
        package var function: Function

        /// A call's `function` member.
        package struct Function: Sendable, Encodable {
            /// `name`.
            package var name: String?
            /// `arguments`, JSON text.
            package var arguments: String?
        }
    }

    // MARK: - Completion

    /// The tool calls of a completion's message, or `nil` when it has none.
    package static func toolCalls(of message: ChatMessage) -> [WireToolCall]? {
        guard !message.toolCalls.isEmpty else { return nil }
        return message.toolCalls.map {
            WireToolCall(id: $0.id, type: "function", function: .init(name: $0.name, arguments: $0.arguments))
        }
    }

    /// The `content` of a completion's message: `null` for a message that only calls tools.
    package static func content(of message: ChatMessage) -> String? {
        let text = message.text
        return text.isEmpty && !message.toolCalls.isEmpty ? nil : text
    }

    /// A `chat.completion` object, with `Codable`.
    static func completion(_ response: ChatResponse, model: String) -> [UInt8] {
        struct Completion: Encodable {
            var id: String
            var object = "chat.completion"
            var created: Int64
            var model: String
            var choices: [Choice]
            var usage: WireUsage
        }
        struct Choice: Encodable {
            var index = 0
            var message: Message
            var finishReason: String

            enum CodingKeys: String, CodingKey {
                case index, message, logprobs
                case finishReason = "finish_reason"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(index, forKey: .index)
                try container.encode(message, forKey: .message)
                try container.encode(finishReason, forKey: .finishReason)
                try container.encodeNil(forKey: .logprobs)
            }
        }
        struct Message: Encodable {
            var content: String?
            var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case role, content
                case toolCalls = "tool_calls"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode("assistant", forKey: .role)
                try container.encode(content, forKey: .content)
                try container.encodeIfPresent(toolCalls, forKey: .toolCalls)
            }
        }
        let message = Message(content: content(of: response.message), toolCalls: toolCalls(of: response.message))
        return encode(
            Completion(
                id: response.id,
                created: response.created,
                model: model,
                choices: [Choice(message: message, finishReason: response.finishReason.rawValue)],
                usage: WireUsage(response.usage)
            )
        )
    }

    // MARK: - Stream chunks

    /// One `chat.completion.chunk`, as it goes after `data: `.
    package struct Chunk: Sendable, Encodable {
        /// The stream's id.
        package var id: String
        /// The stream's creation time, in seconds since 1970.
        package var created: Int64
        /// The model name the client asked for.
        package var model: String
        /// The one choice's delta; `nil` for a usage-only chunk, whose `choices` is empty.
        package var delta: Delta?
        /// The choice's `finish_reason`, `null` until the last content chunk.
        package var finishReason: String?
        /// The stream's usage, on the last chunk when the client asked for it.
        package var usage: WireUsage?
        /// Whether the chunk has a `usage` member (`null` on every chunk but the last) because the client asked.
        package var includeUsageField: Bool

        /// A choice's `delta`.
        package struct Delta: Sendable, Encodable {
            /// `role`, on the first chunk.
            package var role: String?
            /// `content`.
            package var content: String?
            /// `tool_calls` fragments.
            package var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case role, content
                case toolCalls = "tool_calls"
            }
        }

        /// Creates a chunk.
        package init(
            id: String,
            created: Int64,
            model: String,
            delta: Delta?,
            finishReason: String?,
            usage: WireUsage?,
            includeUsageField: Bool
        ) {
            self.id = id
            self.created = created
            self.model = model
            self.delta = delta
            self.finishReason = finishReason
            self.usage = usage
            self.includeUsageField = includeUsageField
        }

        private enum CodingKeys: String, CodingKey {
            case id, object, created, model, choices, usage
        }

        private struct Choice: Encodable {
            var delta: Delta
            var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case index, delta, logprobs
                case finishReason = "finish_reason"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(0, forKey: .index)
                try container.encode(delta, forKey: .delta)
                try container.encode(finishReason, forKey: .finishReason)
                try container.encodeNil(forKey: .logprobs)
            }
        }

        /// Encodes the chunk in OpenAI's shape.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode("chat.completion.chunk", forKey: .object)
            try container.encode(created, forKey: .created)
            try container.encode(model, forKey: .model)
            try container.encode(delta.map { [Choice(delta: $0, finishReason: finishReason)] } ?? [], forKey: .choices)
            if includeUsageField { try container.encode(usage, forKey: .usage) }
        }
    }

    /// A chunk's JSON, with `Codable`.
    static func chunk(_ chunk: Chunk) -> [UInt8] {
        encode(chunk)
    }

    /// The delta of a domain stream event.
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

/// The chat codec on `Codable` alone: `JSONDecoder` for requests, `JSONEncoder` for answers.
package struct CodableOpenAIChatCodec: OpenAIChatCodec {
    /// Creates the codec.
    package init() {}

    /// Decodes with `JSONDecoder`; see ``OpenAIChatCodec/decodeRequest(_:)``.
    package func decodeRequest(_ body: [UInt8]) throws -> OpenAIChatRequest {
        try OpenAIChatRequest.decode(body)
    }

    /// Encodes with `JSONEncoder`; see ``OpenAIChatCodec/encodeCompletion(_:model:)``.
    package func encodeCompletion(_ response: ChatResponse, model: String) -> [UInt8] {
        OpenAIChatEncoding.completion(response, model: model)
    }

    /// Encodes with `JSONEncoder`; see ``OpenAIChatCodec/encodeChunk(_:)``.
    package func encodeChunk(_ chunk: OpenAIChatEncoding.Chunk) -> [UInt8] {
        OpenAIChatEncoding.chunk(chunk)
    }
}
