import Foundation
package import SluiceInference

/// The OpenAI chat completions wire format, as the provider sends and reads it.
package enum OpenAIWire {
    // MARK: - Encoding

    /// A request body, in the shape the upstream reads: `Codable` writes it.
    struct RequestBody: Encodable {
        var model: String
        var messages: [Message]
        var tools: [Tool]?
        var toolChoice: ToolChoice?
        var parallelToolCalls: Bool?
        var temperature: Double?
        var topP: Double?
        var maxTokens: Int?
        var stop: [String]?
        var seed: Int64?
        var presencePenalty: Double?
        var frequencyPenalty: Double?
        var user: String?
        var responseFormat: ResponseFormat?
        var stream: Bool?
        var streamOptions: StreamOptions?

        enum CodingKeys: String, CodingKey {
            case model, messages, tools, temperature, stop, seed, user, stream
            case toolChoice = "tool_choice"
            case parallelToolCalls = "parallel_tool_calls"
            case topP = "top_p"
            case maxTokens = "max_tokens"
            case presencePenalty = "presence_penalty"
            case frequencyPenalty = "frequency_penalty"
            case responseFormat = "response_format"
            case streamOptions = "stream_options"
        }

        struct StreamOptions: Encodable {
            var includeUsage = true
            enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
        }

        struct Message: Encodable {
            var message: ChatMessage

            enum CodingKeys: String, CodingKey {
                case role, content, name
                case toolCalls = "tool_calls"
                case toolCallID = "tool_call_id"
            }

            struct Part: Encodable {
                var part: ChatMessage.ContentPart

                enum CodingKeys: String, CodingKey {
                    case type, text
                    case imageURL = "image_url"
                }

                struct ImageURL: Encodable {
                    var url: String
                    var detail: String?
                }

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    switch part {
                    case .text(let text):
                        try container.encode("text", forKey: .type)
                        try container.encode(text, forKey: .text)
                    case .imageURL(let url, let detail):
                        try container.encode("image_url", forKey: .type)
                        try container.encode(ImageURL(url: url, detail: detail), forKey: .imageURL)
                    }
                }
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message.role.rawValue, forKey: .role)
                let onlyText = message.content.allSatisfy { if case .text = $0 { true } else { false } }
                if message.content.isEmpty {
                    if message.toolCalls.isEmpty {
                        try container.encode("", forKey: .content)
                    } else {
                        try container.encodeNil(forKey: .content)
                    }
                } else if onlyText {
                    try container.encode(message.text, forKey: .content)
                } else {
                    try container.encode(message.content.map(Part.init), forKey: .content)
                }
                try container.encodeIfPresent(message.name, forKey: .name)
                if !message.toolCalls.isEmpty {
                    let calls = message.toolCalls.map {
                        Call(id: $0.id, function: .init(name: $0.name, arguments: $0.arguments))
                    }
                    try container.encode(calls, forKey: .toolCalls)
                }
                try container.encodeIfPresent(message.toolCallID, forKey: .toolCallID)
            }

            struct Call: Encodable {
                var id: String
                var type = "function"
                var function: Function

                struct Function: Encodable {
                    var name: String
                    var arguments: String
                }
            }
        }

        struct Tool: Encodable {
            var type = "function"
            var function: Function

            struct Function: Encodable {
                var name: String
                var description: String?
                var parameters: JSONValue?
                var strict: Bool?
            }
        }

        enum ToolChoice: Encodable {
            case mode(String)
            case function(String)

            func encode(to encoder: any Encoder) throws {
                switch self {
                case .mode(let mode):
                    var container = encoder.singleValueContainer()
                    try container.encode(mode)
                case .function(let name):
                    struct Named: Encodable {
                        struct Function: Encodable { var name: String }
                        var type = "function"
                        var function: Function
                    }
                    try Named(function: .init(name: name)).encode(to: encoder)
                }
            }
        }

        struct ResponseFormat: Encodable {
            var type: String
            var jsonSchema: JSONSchema?

            enum CodingKeys: String, CodingKey {
                case type
                case jsonSchema = "json_schema"
            }

            struct JSONSchema: Encodable {
                var name: String
                var schema: JSONValue
                var strict: Bool?
            }
        }
    }

    /// Writes a request with `Codable`.
    ///
    /// Schemas held as JSON text are embedded as JSON; text that is not one JSON value (possible from a gRPC
    /// caller) becomes `{}`.
    static func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        func embedded(_ text: String) -> JSONValue { JSONValue.parse(text) ?? .object([:]) }
        let toolChoice = request.toolChoice.map { choice -> RequestBody.ToolChoice in
            switch choice {
            case .none: .mode("none")
            case .auto: .mode("auto")
            case .required: .mode("required")
            case .function(let name): .function(name)
            }
        }
        let responseFormat: RequestBody.ResponseFormat? =
            switch request.responseFormat {
            case nil: nil
            case .text: .init(type: "text")
            case .jsonObject: .init(type: "json_object")
            case .jsonSchema(let name, let schema, let strict):
                .init(type: "json_schema", jsonSchema: .init(name: name, schema: embedded(schema), strict: strict))
            }
        let body = RequestBody(
            model: upstreamModel,
            messages: request.messages.map(RequestBody.Message.init),
            tools: request.tools.isEmpty
                ? nil
                : request.tools.map {
                    RequestBody.Tool(
                        function: .init(
                            name: $0.name,
                            description: $0.description,
                            parameters: $0.parametersJSON.map(embedded),
                            strict: $0.strict
                        )
                    )
                },
            toolChoice: toolChoice,
            parallelToolCalls: request.parallelToolCalls,
            temperature: request.temperature,
            topP: request.topP,
            maxTokens: request.maxTokens,
            stop: request.stop.isEmpty ? nil : request.stop,
            seed: request.seed,
            presencePenalty: request.presencePenalty,
            frequencyPenalty: request.frequencyPenalty,
            user: request.user,
            responseFormat: responseFormat,
            stream: stream ? true : nil,
            streamOptions: stream ? RequestBody.StreamOptions() : nil
        )
        return Array(try encoder.encode(body))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    // MARK: - Decoding

    /// The upstream's `Completion` object, the members Sluice reads.
    package struct Completion: Decodable, Sendable {
        /// Creates the value from its members.
        package init(id: String?, choices: [Choice], usage: WireUsage?) {
            self.id = id
            self.choices = choices
            self.usage = usage
        }

        /// `id`.
        package var id: String?
        /// `choices`.
        package var choices: [Choice]
        /// `usage`.
        package var usage: WireUsage?

        /// The upstream's `Choice` object, the members Sluice reads.
        package struct Choice: Decodable, Sendable {
            /// Creates the value from its members.
            package init(message: Message, finishReason: String?) {
                self.message = message
                self.finishReason = finishReason
            }

            /// `message`.
            package var message: Message
            /// `finish_reason`.
            package var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case message
                case finishReason = "finish_reason"
            }
        }

        /// The upstream's `Message` object, the members Sluice reads.
        package struct Message: Decodable, Sendable {
            /// Creates the value from its members.
            package init(content: String?, toolCalls: [WireToolCall]?) {
                self.content = content
                self.toolCalls = toolCalls
            }

            /// `content`.
            package var content: String?
            /// `tool_calls`.
            package var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case content
                case toolCalls = "tool_calls"
            }
        }
    }

    /// The upstream's `WireToolCall` object, the members Sluice reads.
    package struct WireToolCall: Decodable, Sendable {
        /// Creates the value from its members.
        package init(index: Int?, id: String?, function: Function) {
            self.index = index
            self.id = id
            self.function = function
        }

        /// `index`.
        package var index: Int?
        /// `id`.
        package var id: String?
        /// `function`.
        package var function: Function

        /// The upstream's `Function` object, the members Sluice reads.
        package struct Function: Decodable, Sendable {
            /// Creates the value from its members.
            package init(name: String?, arguments: String?) {
                self.name = name
                self.arguments = arguments
            }

            /// `name`.
            package var name: String?
            /// `arguments`, JSON text.
            package var arguments: String?
        }
    }

    /// The upstream's `WireUsage` object, the members Sluice reads.
    package struct WireUsage: Decodable, Sendable {
        /// Creates the value from its members.
        package init(promptTokens: Int, completionTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
        }

        /// `prompt_tokens`.
        package var promptTokens: Int
        /// `completion_tokens`.
        package var completionTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }

        /// The domain usage.
        package var domain: Usage {
            Usage(promptTokens: promptTokens, completionTokens: completionTokens, isEstimated: false)
        }
    }

    /// The upstream's `Chunk` object, the members Sluice reads.
    package struct Chunk: Decodable, Sendable {
        /// Creates the value from its members.
        package init(choices: [Choice], usage: WireUsage?) {
            self.choices = choices
            self.usage = usage
        }

        /// `choices`.
        package var choices: [Choice]
        /// `usage`.
        package var usage: WireUsage?

        /// The upstream's `Choice` object, the members Sluice reads.
        package struct Choice: Decodable, Sendable {
            /// Creates the value from its members.
            package init(delta: Delta?, finishReason: String?) {
                self.delta = delta
                self.finishReason = finishReason
            }

            /// `delta`.
            package var delta: Delta?
            /// `finish_reason`.
            package var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }

        /// The upstream's `Delta` object, the members Sluice reads.
        package struct Delta: Decodable, Sendable {
            /// Creates the value from its members.
            package init(content: String?, toolCalls: [WireToolCall]?) {
                self.content = content
                self.toolCalls = toolCalls
            }

            /// `content`.
            package var content: String?
            /// `tool_calls`.
            package var toolCalls: [WireToolCall]?

            enum CodingKeys: String, CodingKey {
                case content
                case toolCalls = "tool_calls"
            }
        }

        /// The domain events this chunk carries, in order: content, finish, usage.
        package var events: [ChatStreamEvent] {
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

    /// The domain reason for an OpenAI `finish_reason`.
    package static func finishReason(_ text: String?) -> FinishReason {
        switch text {
        case "length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .stop
        }
    }
}
