import Foundation
import SluiceInference

/// Writing OpenAI-compatible request bodies with `Codable`.
extension OpenAIWire {
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
}
