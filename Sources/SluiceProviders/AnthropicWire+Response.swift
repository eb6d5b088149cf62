import Foundation
import SluiceInference

extension AnthropicWire {
    // MARK: - Wire types

    /// A complete Messages answer.
    struct Message: Decodable {
        var id: String?
        var content: [Block]
        var stopReason: String?
        var usage: WireUsage?

        enum CodingKeys: String, CodingKey {
            case id, content, usage
            case stopReason = "stop_reason"
        }
    }

    /// A content block of an answer or of a `content_block_start` event.
    ///
    /// Only `text` and `tool_use` blocks matter to Sluice; other kinds (thinking, server tools) are skipped.
    struct Block: Decodable {
        var type: String
        var text: String?
        var id: String?
        var name: String?
        var input: JSONValue?
    }

    /// Token counts as the Messages API reports them; every field may be missing in a `message_delta`.
    struct WireUsage: Decodable {
        var inputTokens: Int?
        var outputTokens: Int?
        var cacheCreationInputTokens: Int?
        var cacheReadInputTokens: Int?

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        /// All prompt tokens: uncached input plus tokens written to and read from the prompt cache.
        var promptTokens: Int? {
            inputTokens.map { $0 + (cacheCreationInputTokens ?? 0) + (cacheReadInputTokens ?? 0) }
        }
    }

    // MARK: - Decoding

    /// Decodes the body of a non-streamed answer.
    ///
    /// - Parameters:
    ///   - body: The response body.
    ///   - provider: The provider name, for errors.
    /// - Returns: The reply; `usage` is `nil` when the upstream reported no complete usage.
    /// - Throws: ``InferenceError`` `upstream_unavailable` when the body is not a Messages answer.
    static func decodeResponse(_ body: Data, provider: String) throws -> ProviderReply {
        let message: Message
        do {
            message = try UpstreamHTTP.jsonDecoder.decode(Message.self, from: body)
        } catch {
            let text = String(decoding: body, as: UTF8.self)
            if JSONValue.parse(text) != nil, let detail = UpstreamHTTP.upstreamMessage(in: text) {
                throw InferenceError(.upstreamUnavailable, "The upstream reported: \(detail)", provider: provider)
            }
            throw InferenceError(.upstreamUnavailable, "The upstream answered with malformed JSON", provider: provider)
        }
        var text = ""
        var calls: [ToolCall] = []
        for block in message.content {
            switch block.type {
            case "text":
                text += block.text ?? ""
            case "tool_use":
                calls.append(
                    ToolCall(
                        id: block.id ?? "",
                        name: block.name ?? "",
                        arguments: (block.input ?? .object([:])).serialized
                    )
                )
            default:
                continue
            }
        }
        var usage: Usage?
        if let prompt = message.usage?.promptTokens, let completion = message.usage?.outputTokens {
            usage = Usage(
                promptTokens: prompt,
                completionTokens: completion,
                isEstimated: false,
                cachedPromptTokens: message.usage?.cacheReadInputTokens ?? 0
            )
        }
        return ProviderReply(
            message: ChatMessage(role: .assistant, content: text.isEmpty ? [] : [.text(text)], toolCalls: calls),
            finishReason: finishReason(message.stopReason),
            usage: usage,
            upstreamID: message.id
        )
    }

    /// Maps a `stop_reason` onto a finish reason; unknown or missing reasons count as a natural stop.
    static func finishReason(_ text: String?) -> FinishReason {
        switch text {
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .stop
        }
    }
}
