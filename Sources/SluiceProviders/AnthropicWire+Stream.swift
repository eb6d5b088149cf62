import Foundation
import SluiceInference

extension AnthropicWire {
    // MARK: - Wire types

    /// One event of a Messages stream; which fields are set depends on `type`.
    struct StreamEvent: Decodable {
        var type: String?
        var index: Int?
        var message: Start?
        var contentBlock: Block?
        var delta: Delta?
        var usage: WireUsage?
        var error: WireError?

        enum CodingKeys: String, CodingKey {
            case type, index, message, delta, usage, error
            case contentBlock = "content_block"
        }

        /// The message of `message_start`.
        struct Start: Decodable {
            var usage: WireUsage?
        }

        /// The delta of `content_block_delta` or of `message_delta`.
        struct Delta: Decodable {
            var type: String?
            var text: String?
            var partialJSON: String?
            var stopReason: String?

            enum CodingKeys: String, CodingKey {
                case type, text
                case partialJSON = "partial_json"
                case stopReason = "stop_reason"
            }
        }

        /// The error of an `error` event.
        struct WireError: Decodable {
            var type: String?
            var message: String?
        }
    }

    // MARK: - Translation

    /// Translates the events of a Messages stream into Sluice's stream events, one event at a time.
    ///
    /// Text deltas become content, each `tool_use` block becomes the next tool-call index (its start carries
    /// the id and name, its `input_json_delta`s the argument text), and `message_stop` yields `finish` then
    /// `usage`. Usage is left out when the upstream did not report both counts.
    struct StreamTranslator {
        let provider: String
        /// Whether `message_stop` arrived; nothing more is translated after it.
        private(set) var isFinished = false
        private var toolIndexByBlock: [Int: Int] = [:]
        private var startInputByBlock: [Int: String] = [:]
        private var blocksWithArguments: Set<Int> = []
        private var stopReason: String?
        private var promptTokens: Int?
        private var completionTokens: Int?
        private var cachedPromptTokens = 0

        init(provider: String) {
            self.provider = provider
        }

        /// Translates one server-sent event.
        ///
        /// - Returns: The events it produces, often none.
        /// - Throws: ``InferenceError`` `upstream_unavailable` for an `error` event or a malformed event.
        mutating func translate(_ event: ServerSentEventParser.Event) throws -> [ChatStreamEvent] {
            guard !isFinished else { return [] }
            let decoded: StreamEvent
            do {
                decoded = try UpstreamHTTP.jsonDecoder.decode(StreamEvent.self, from: Data(event.data.utf8))
            } catch {
                let message = "The upstream sent a malformed stream event"
                throw InferenceError(.upstreamUnavailable, message, provider: provider)
            }
            switch decoded.type ?? event.name {
            case "message_start":
                record(decoded.message?.usage)
                return []
            case "content_block_start":
                return startBlock(decoded.index ?? 0, decoded.contentBlock)
            case "content_block_delta":
                return delta(decoded.index ?? 0, decoded.delta)
            case "content_block_stop":
                return stopBlock(decoded.index ?? 0)
            case "message_delta":
                if let reason = decoded.delta?.stopReason { stopReason = reason }
                record(decoded.usage)
                return []
            case "message_stop":
                isFinished = true
                var events: [ChatStreamEvent] = [.finish(AnthropicWire.finishReason(stopReason))]
                if let prompt = promptTokens, let completion = completionTokens {
                    events.append(
                        .usage(
                            Usage(
                                promptTokens: prompt,
                                completionTokens: completion,
                                isEstimated: false,
                                cachedPromptTokens: cachedPromptTokens
                            )
                        )
                    )
                }
                return events
            case "error":
                let kind = decoded.error?.type ?? "error"
                let detail = decoded.error?.message ?? "no details"
                throw InferenceError(
                    .upstreamUnavailable,
                    "The upstream reported \(kind) mid-stream: \(detail)",
                    provider: provider
                )
            default:
                // `ping` and event types added to the API later.
                return []
            }
        }

        private mutating func record(_ usage: WireUsage?) {
            guard let usage else { return }
            if let prompt = usage.promptTokens {
                promptTokens = prompt
                cachedPromptTokens = usage.cacheReadInputTokens ?? 0
            }
            if let completion = usage.outputTokens { completionTokens = completion }
        }

        private mutating func startBlock(_ block: Int, _ content: Block?) -> [ChatStreamEvent] {
            guard let content else { return [] }
            switch content.type {
            case "text":
                guard let text = content.text, !text.isEmpty else { return [] }
                return [.delta(ChatDelta(content: text))]
            case "tool_use":
                let index = toolIndexByBlock.count
                toolIndexByBlock[block] = index
                if let input = content.input, input != .object([:]) { startInputByBlock[block] = input.serialized }
                return [.delta(ChatDelta(toolCalls: [ToolCallDelta(index: index, id: content.id, name: content.name)]))]
            default:
                return []
            }
        }

        private mutating func delta(_ block: Int, _ delta: StreamEvent.Delta?) -> [ChatStreamEvent] {
            switch delta?.type {
            case "text_delta":
                guard let text = delta?.text, !text.isEmpty else { return [] }
                return [.delta(ChatDelta(content: text))]
            case "input_json_delta":
                guard let index = toolIndexByBlock[block], let json = delta?.partialJSON, !json.isEmpty else {
                    return []
                }
                blocksWithArguments.insert(block)
                return [.delta(ChatDelta(toolCalls: [ToolCallDelta(index: index, arguments: json)]))]
            default:
                return []
            }
        }

        /// Closes a tool block that streamed no argument text with its start `input`, or `{}`, so that the
        /// concatenated arguments are always a JSON object.
        private mutating func stopBlock(_ block: Int) -> [ChatStreamEvent] {
            guard let index = toolIndexByBlock[block], !blocksWithArguments.contains(block) else { return [] }
            blocksWithArguments.insert(block)
            let arguments = startInputByBlock[block] ?? "{}"
            return [.delta(ChatDelta(toolCalls: [ToolCallDelta(index: index, arguments: arguments)]))]
        }
    }

    // MARK: - Iteration

    /// Pulls server-sent events from `events` and hands out the translated stream events.
    ///
    /// It ends after `message_stop`, or, without `finish`, when the events end first.
    struct EventIterator<Events: AsyncIteratorProtocol>: AsyncIteratorProtocol
    where Events.Element == ServerSentEventParser.Event {
        var events: Events
        var translator: StreamTranslator
        private var ready: [ChatStreamEvent] = []

        init(events: Events, translator: StreamTranslator) {
            self.events = events
            self.translator = translator
        }

        mutating func next() async throws -> ChatStreamEvent? {
            while ready.isEmpty {
                guard !translator.isFinished, let event = try await events.next() else { return nil }
                ready = try translator.translate(event)
            }
            return ready.removeFirst()
        }
    }
}
