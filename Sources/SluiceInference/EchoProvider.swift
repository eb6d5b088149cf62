import Synchronization

/// The built-in offline model: it answers with the last user message, word by word.
///
/// It is deterministic, needs no network, reports exact usage with cl100k_base (estimated when the ranks file is
/// missing) and honours `max_tokens` (finishing with `length`). When the request forces a tool (`tool_choice`
/// `required` or a named function), it calls that tool (or the first one) with `{"input": <last user text>}`.
/// Delays before the first word and between words are configurable, which makes it a fixed-answer upstream for
/// tests and benchmarks.
package struct EchoProvider: ChatProvider {
    /// The configured provider name.
    package let name: String
    private let settings: ProviderConfiguration.Echo
    private let tokens: PromptTokenCounter

    /// Creates an echo provider.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - settings: First-token and per-token delays.
    ///   - tokens: The counter used for usage.
    package init(name: String = "echo", settings: ProviderConfiguration.Echo, tokens: PromptTokenCounter) {
        self.name = name
        self.settings = settings
        self.tokens = tokens
    }

    /// Answers in one piece; see ``ChatProvider/chat(_:upstreamModel:)``.
    package func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply {
        let plan = answer(to: request, upstreamModel: upstreamModel)
        try await sleep(milliseconds: settings.firstTokenDelayMs)
        let perWord = settings.perTokenDelayMs * Int64(max(0, plan.words.count - 1))
        try await sleep(milliseconds: perWord)
        let message = ChatMessage(
            role: .assistant,
            content: plan.toolCall == nil ? [.text(plan.words.joined())] : [],
            toolCalls: plan.toolCall.map { [$0] } ?? []
        )
        return ProviderReply(message: message, finishReason: plan.finishReason, usage: plan.usage)
    }

    /// Starts a streamed answer; see ``ChatProvider/openStream(_:upstreamModel:)``.
    package func openStream(
        _ request: ChatRequest,
        upstreamModel: String
    ) async throws
        -> ChatEvents
    {
        let plan = answer(to: request, upstreamModel: upstreamModel)
        var events: [ChatStreamEvent] = []
        if let call = plan.toolCall {
            events.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: call.id, name: call.name)])))
            events.append(.delta(ChatDelta(toolCalls: [ToolCallDelta(index: 0, arguments: call.arguments)])))
        } else {
            events += plan.words.map { .delta(ChatDelta(content: $0)) }
        }
        events.append(.finish(plan.finishReason))
        events.append(.usage(plan.usage))
        let cursor = Mutex(0)
        let settings = self.settings
        let planned = events
        let stream = AsyncThrowingStream<ChatStreamEvent, any Error>(unfolding: {
            let index = cursor.withLock { index in
                defer { index += 1 }
                return index
            }
            guard index < planned.count else { return nil }
            if case .delta = planned[index] {
                try await sleep(milliseconds: index == 0 ? settings.firstTokenDelayMs : settings.perTokenDelayMs)
            }
            return planned[index]
        })
        return ChatEvents(stream)
    }

    // MARK: - Answer

    private struct Plan {
        var words: [String]
        var toolCall: ToolCall?
        var finishReason: FinishReason
        var usage: Usage
    }

    private func answer(to request: ChatRequest, upstreamModel: String) -> Plan {
        let lastUser = request.messages.last(where: { $0.role == .user })?.text ?? ""
        let prompt = tokens.countPrompt(request.messages, upstreamModel: upstreamModel)
        if let tool = forcedTool(in: request) {
            let arguments = "{\"input\":\(Self.jsonString(lastUser))}"
            let call = ToolCall(id: "call_echo_0", name: tool, arguments: arguments)
            let completion = tokens.countCompletion(tool + arguments, upstreamModel: upstreamModel)
            let usage = Usage(
                promptTokens: prompt.tokens,
                completionTokens: completion,
                isEstimated: prompt.isEstimated
            )
            return Plan(words: [], toolCall: call, finishReason: .toolCalls, usage: usage)
        }
        var words = Self.words(of: lastUser.isEmpty ? "(empty message)" : lastUser)
        var finish = FinishReason.stop
        if let limit = request.maxTokens {
            var kept: [String] = []
            var used = 0
            for word in words {
                let cost = tokens.countCompletion(word, upstreamModel: upstreamModel)
                if used + cost > limit {
                    finish = .length
                    break
                }
                used += cost
                kept.append(word)
            }
            words = kept
        }
        let completion = tokens.countCompletion(words.joined(), upstreamModel: upstreamModel)
        let usage = Usage(promptTokens: prompt.tokens, completionTokens: completion, isEstimated: prompt.isEstimated)
        return Plan(words: words, toolCall: nil, finishReason: finish, usage: usage)
    }

    private func forcedTool(in request: ChatRequest) -> String? {
        switch request.toolChoice {
        case .function(let name): name
        case .required: request.tools.first?.name
        case .some(.none), .some(.auto), nil: nil
        }
    }

    /// Splits text into words that keep their leading white space, so that joining them restores the text.
    static func words(of text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        for character in text {
            if character.isWhitespace {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
                current.append(character)
            } else {
                inWord = true
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

private func sleep(milliseconds: Int64) async throws {
    guard milliseconds > 0 else { return }
    try await Task.sleep(for: .milliseconds(milliseconds))
}
