import Foundation
package import SluiceInference

/// The OpenAI chat completions wire format, as the provider sends and reads it.
package enum OpenAIWire {
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
        package init(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.cachedTokens = cachedTokens
        }

        /// `prompt_tokens`.
        package var promptTokens: Int
        /// `completion_tokens`.
        package var completionTokens: Int
        /// `prompt_tokens_details.cached_tokens`: prompt tokens served from the prompt cache; 0 when absent.
        package var cachedTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case promptTokensDetails = "prompt_tokens_details"
        }

        enum DetailsKeys: String, CodingKey {
            case cachedTokens = "cached_tokens"
        }

        /// Decodes the members Sluice reads; the details object and its count may be missing or null.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            promptTokens = try container.decode(Int.self, forKey: .promptTokens)
            completionTokens = try container.decode(Int.self, forKey: .completionTokens)
            if container.contains(.promptTokensDetails), try !container.decodeNil(forKey: .promptTokensDetails) {
                let details = try container.nestedContainer(keyedBy: DetailsKeys.self, forKey: .promptTokensDetails)
                cachedTokens = try details.decodeIfPresent(Int.self, forKey: .cachedTokens) ?? 0
            } else {
                cachedTokens = 0
            }
        }

        /// The domain usage.
        package var domain: Usage {
            Usage(
                promptTokens: promptTokens,
                completionTokens: completionTokens,
                isEstimated: false,
                cachedPromptTokens: cachedTokens
            )
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
