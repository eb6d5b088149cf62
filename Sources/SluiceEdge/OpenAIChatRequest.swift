import Foundation
import HTTPTypes
import SluiceInference

/// The body of `POST /v1/chat/completions` as OpenAI defines it, decoded and validated.
///
/// Decoding accepts every shape the OpenAI SDKs send (string or part-array content, string or object
/// `tool_choice`, string or array `stop`, `max_tokens` or `max_completion_tokens`); validation rejects what
/// OpenAI rejects with a 400 naming the parameter.
package struct OpenAIChatRequest: Decodable {
    /// The `model` member.
    package var model: String
    /// The `messages` member.
    package var messages: [Message]
    /// The `stream` member.
    package var stream: Bool?
    /// The `stream_options` member.
    package var streamOptions: StreamOptions?
    /// The `tools` member.
    package var tools: [Tool]?
    /// The `tool_choice` member.
    package var toolChoice: ToolChoiceValue?
    /// The `parallel_tool_calls` member.
    package var parallelToolCalls: Bool?
    /// The `temperature` member.
    package var temperature: Double?
    /// The `top_p` member.
    package var topP: Double?
    /// The `n` member.
    package var n: Int?
    /// The `max_tokens` member.
    package var maxTokens: Int?
    /// The `max_completion_tokens` member.
    package var maxCompletionTokens: Int?
    /// The `stop` member.
    package var stop: StopValue?
    /// The `seed` member.
    package var seed: Int64?
    /// The `presence_penalty` member.
    package var presencePenalty: Double?
    /// The `frequency_penalty` member.
    package var frequencyPenalty: Double?
    /// The `response_format` member.
    package var responseFormat: ResponseFormat?
    /// The `user` member.
    package var user: String?

    /// Creates a request with its two required members; the rest start absent.
    package init(model: String, messages: [Message]) {
        self.model = model
        self.messages = messages
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, tools, temperature, n, stop, seed, user
        case streamOptions = "stream_options"
        case toolChoice = "tool_choice"
        case parallelToolCalls = "parallel_tool_calls"
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case responseFormat = "response_format"
    }

    /// OpenAI's `StreamOptions` shape, as the request carries it.
    package struct StreamOptions: Decodable {
        /// Creates options with nothing set.
        package init(includeUsage: Bool? = nil) {
            self.includeUsage = includeUsage
        }

        /// The `include_usage` member.
        package var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// OpenAI's `Message` shape, as the request carries it.
    package struct Message: Decodable {
        /// Creates a message with a role and nothing else.
        package init(role: String) {
            self.role = role
        }

        /// The `role` member.
        package var role: String
        /// The `content` member.
        package var content: Content?
        /// The `name` member.
        package var name: String?
        /// The `tool_calls` member.
        package var toolCalls: [ToolCallValue]?
        /// The `tool_call_id` member.
        package var toolCallID: String?

        enum CodingKeys: String, CodingKey {
            case role, content, name
            case toolCalls = "tool_calls"
            case toolCallID = "tool_call_id"
        }
    }

    /// OpenAI's `Content` shape, as the request carries it.
    package enum Content: Decodable {
        case text(String)
        case parts([Part])

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try container.decode([Part].self))
            }
        }
    }

    /// OpenAI's `Part` shape, as the request carries it.
    package struct Part: Decodable {
        /// Creates a part of a type and nothing else.
        package init(type: String) {
            self.type = type
        }

        /// The `type` member.
        package var type: String
        /// The `text` member.
        package var text: String?
        /// The `image_url` member.
        package var imageURL: ImageURL?

        /// OpenAI's `ImageURL` shape, as the request carries it.
        package struct ImageURL: Decodable {
            /// Creates an image reference.
            package init(url: String, detail: String?) {
                self.url = url
                self.detail = detail
            }

            /// The `url` member.
            package var url: String
            /// The `detail` member.
            package var detail: String?
        }

        enum CodingKeys: String, CodingKey {
            case type, text
            case imageURL = "image_url"
        }
    }

    /// OpenAI's `ToolCallValue` shape, as the request carries it.
    package struct ToolCallValue: Decodable {
        /// Creates a tool call.
        package init(id: String, type: String?, function: Function) {
            self.id = id
            self.type = type
            self.function = function
        }

        /// The `id` member.
        package var id: String
        /// The `type` member.
        package var type: String?
        /// The `function` member.
        package var function: Function

        /// OpenAI's `Function` shape, as the request carries it.
        package struct Function: Decodable {
            /// Creates a named call with its argument text.
            package init(name: String, arguments: String) {
                self.name = name
                self.arguments = arguments
            }

            /// The `name` member.
            package var name: String
            /// The `arguments` member.
            package var arguments: String
        }
    }

    /// OpenAI's `Tool` shape, as the request carries it.
    package struct Tool: Decodable {
        /// The `type` member.
        package var type: String
        /// The `function` member.
        package var function: Function

        /// OpenAI's `Function` shape, as the request carries it.
        package struct Function: Decodable {
            /// The `name` member.
            package var name: String
            /// The `description` member.
            package var description: String?
            /// The `parameters` member.
            package var parameters: RawJSON?
            /// The `strict` member.
            package var strict: Bool?
        }
    }

    /// OpenAI's `ToolChoiceValue` shape, as the request carries it.
    package enum ToolChoiceValue: Decodable {
        case mode(String)
        case function(String)

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let mode = try? container.decode(String.self) {
                self = .mode(mode)
                return
            }
            struct Named: Decodable {
                struct Function: Decodable { var name: String }
                /// The `type` member.
                package var type: String
                /// The `function` member.
                package var function: Function
            }
            self = .function(try container.decode(Named.self).function.name)
        }
    }

    /// OpenAI's `StopValue` shape, as the request carries it.
    package enum StopValue: Decodable {
        case one(String)
        case many([String])

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                self = .one(one)
            } else {
                self = .many(try container.decode([String].self))
            }
        }

        /// The `values` member.
        package var values: [String] {
            switch self {
            case .one(let value): [value]
            case .many(let values): values
            }
        }
    }

    /// OpenAI's `ResponseFormat` shape, as the request carries it.
    package struct ResponseFormat: Decodable {
        /// Creates a format.
        package init(type: String, jsonSchema: JSONSchema?) {
            self.type = type
            self.jsonSchema = jsonSchema
        }

        /// The `type` member.
        package var type: String
        /// The `json_schema` member.
        package var jsonSchema: JSONSchema?

        /// OpenAI's `JSONSchema` shape, as the request carries it.
        package struct JSONSchema: Decodable {
            /// The `name` member.
            package var name: String
            /// The `schema` member.
            package var schema: RawJSON?
            /// The `strict` member.
            package var strict: Bool?
        }

        enum CodingKeys: String, CodingKey {
            case type
            case jsonSchema = "json_schema"
        }
    }

    /// Parses a request body.
    ///
    /// `JSONDecoder` decides what is accepted; its errors become OpenAI's 400s naming the parameter.
    ///
    /// - Parameter body: The raw body.
    /// - Returns: The decoded request.
    /// - Throws: ``OpenAIError`` 400 with `invalid_json` or `invalid_parameter`.
    package static func decode(_ body: [UInt8]) throws -> OpenAIChatRequest {
        do {
            return try JSONDecoder().decode(OpenAIChatRequest.self, from: Data(body))
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw OpenAIError(
                .badRequest,
                type: "invalid_request_error",
                code: "invalid_json",
                message: "The request body is not valid JSON"
            )
        } catch let error as DecodingError {
            throw OpenAIError.invalidParameter(Self.describe(error), param: Self.path(of: error))
        }
    }

    private static func path(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: path = []
        }
        guard !path.isEmpty else { return nil }
        return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .reduce("") { result, part in
                part.hasPrefix("[") ? result + part : (result.isEmpty ? part : result + "." + part)
            }
    }

    private static func describe(_ error: DecodingError) -> String {
        let where_ = path(of: error).map { "'\($0)'" } ?? "the body"
        switch error {
        case .keyNotFound: return "Missing required parameter \(where_)"
        case .typeMismatch(let type, _): return "Invalid type for \(where_): expected \(type)"
        case .valueNotFound: return "\(where_) must not be null"
        default: return "Invalid value for \(where_)"
        }
    }
}

/// A JSON value kept as its text, for schemas Sluice passes through without reading.
package struct RawJSON: Decodable {
    /// The value's JSON text, keys sorted.
    package var text: String

    /// Decodes any JSON value and keeps its text.
    package init(from decoder: any Decoder) throws {
        let value = try AnyJSON(from: decoder)
        let data = try JSONSerialization.data(
            withJSONObject: value.object,
            options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]
        )
        text = String(decoding: data, as: UTF8.self)
    }
}

/// A decoded JSON value as Foundation objects, for re-serialisation.
private struct AnyJSON: Decodable {
    var object: Any

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var values: [Any] = []
            while !array.isAtEnd { values.append(try array.decode(AnyJSON.self).object) }
            object = values
        } else if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var values: [String: Any] = [:]
            for key in keyed.allKeys { values[key.stringValue] = try keyed.decode(AnyJSON.self, forKey: key).object }
            object = values
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                object = NSNull()
            } else if let value = try? single.decode(Bool.self) {
                object = value
            } else if let value = try? single.decode(Int64.self) {
                object = value
            } else if let value = try? single.decode(Double.self) {
                object = value
            } else {
                object = try single.decode(String.self)
            }
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
