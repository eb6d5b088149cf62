import Foundation
import HTTPTypes
import SluiceInference

/// The body of `POST /v1/chat/completions` as OpenAI defines it, decoded and validated.
///
/// Decoding accepts every shape the OpenAI SDKs send (string or part-array content, string or object
/// `tool_choice`, string or array `stop`, `max_tokens` or `max_completion_tokens`); validation rejects what
/// OpenAI rejects with a 400 naming the parameter.
struct OpenAIChatRequest: Decodable {
    var model: String
    var messages: [Message]
    var stream: Bool?
    var streamOptions: StreamOptions?
    var tools: [Tool]?
    var toolChoice: ToolChoiceValue?
    var parallelToolCalls: Bool?
    var temperature: Double?
    var topP: Double?
    var n: Int?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var stop: StopValue?
    var seed: Int64?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var responseFormat: ResponseFormat?
    var user: String?

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

    struct StreamOptions: Decodable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    struct Message: Decodable {
        var role: String
        var content: Content?
        var name: String?
        var toolCalls: [ToolCallValue]?
        var toolCallID: String?

        enum CodingKeys: String, CodingKey {
            case role, content, name
            case toolCalls = "tool_calls"
            case toolCallID = "tool_call_id"
        }
    }

    enum Content: Decodable {
        case text(String)
        case parts([Part])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try container.decode([Part].self))
            }
        }
    }

    struct Part: Decodable {
        var type: String
        var text: String?
        var imageURL: ImageURL?

        struct ImageURL: Decodable {
            var url: String
            var detail: String?
        }

        enum CodingKeys: String, CodingKey {
            case type, text
            case imageURL = "image_url"
        }
    }

    struct ToolCallValue: Decodable {
        var id: String
        var type: String?
        var function: Function

        struct Function: Decodable {
            var name: String
            var arguments: String
        }
    }

    struct Tool: Decodable {
        var type: String
        var function: Function

        struct Function: Decodable {
            var name: String
            var description: String?
            var parameters: RawJSON?
            var strict: Bool?
        }
    }

    enum ToolChoiceValue: Decodable {
        case mode(String)
        case function(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let mode = try? container.decode(String.self) {
                self = .mode(mode)
                return
            }
            struct Named: Decodable {
                struct Function: Decodable { var name: String }
                var type: String
                var function: Function
            }
            self = .function(try container.decode(Named.self).function.name)
        }
    }

    enum StopValue: Decodable {
        case one(String)
        case many([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                self = .one(one)
            } else {
                self = .many(try container.decode([String].self))
            }
        }

        var values: [String] {
            switch self {
            case .one(let value): [value]
            case .many(let values): values
            }
        }
    }

    struct ResponseFormat: Decodable {
        var type: String
        var jsonSchema: JSONSchema?

        struct JSONSchema: Decodable {
            var name: String
            var schema: RawJSON?
            var strict: Bool?
        }

        enum CodingKeys: String, CodingKey {
            case type
            case jsonSchema = "json_schema"
        }
    }

    /// Parses a request body.
    ///
    /// - Parameters:
    ///   - body: The raw body.
    ///   - fast: Whether to try the fast reader first; `false` decodes with `JSONDecoder` alone.
    /// - Returns: The decoded request.
    /// - Throws: ``OpenAIError`` 400 with `invalid_json` or `invalid_parameter`.
    static func decode(_ body: [UInt8], fast: Bool = true) throws -> OpenAIChatRequest {
        if fast, let request = fastDecode(body) { return request }
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
struct RawJSON: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
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
