package import SluiceInference
package import SluiceProtos

// Answers, usage and stream events between the domain and `sluice.inference.v1`.
//
// Decoding an answer fails with `InferenceError(.internal, …)`: a malformed answer is the server's fault, never the
// caller's.

extension Sluice_Inference_V1_ChatResponse {
    /// Encodes a domain answer as the proto's single choice; `attempts` carries ``ServedBy/attempt``.
    package init(_ response: ChatResponse) {
        self.init()
        id = response.id
        created = response.created
        model = response.servedBy.model
        provider = response.servedBy.provider
        attempts = Int32(clamping: response.servedBy.attempt)
        var choice = Sluice_Inference_V1_Choice()
        choice.index = 0
        choice.message = Sluice_Inference_V1_Message(response.message)
        choice.finishReason = Sluice_Inference_V1_FinishReason(response.finishReason)
        choices = [choice]
        usage = Sluice_Inference_V1_Usage(response.usage)
    }
}

extension ChatResponse {
    /// Decodes an answer from its first choice.
    ///
    /// - Throws: ``InferenceError`` with `internal` when there is no choice or the choice is malformed.
    package init(proto: Sluice_Inference_V1_ChatResponse) throws {
        guard let choice = proto.choices.first else {
            throw InferenceError(.internal, "The inference service answered without a choice")
        }
        let message: ChatMessage
        do {
            message = try ChatMessage(proto: choice.message)
        } catch let error as InferenceError {
            throw InferenceError(.internal, "The inference service sent a malformed message: \(error.message)")
        }
        self.init(
            id: proto.id,
            created: proto.created,
            servedBy: ServedBy(provider: proto.provider, model: proto.model, attempt: Int(proto.attempts)),
            message: message,
            finishReason: try FinishReason(proto: choice.finishReason),
            usage: Usage(proto: proto.usage)
        )
    }
}

extension Sluice_Inference_V1_FinishReason {
    package init(_ reason: FinishReason) {
        switch reason {
        case .stop: self = .stop
        case .length: self = .length
        case .toolCalls: self = .toolCalls
        case .contentFilter: self = .contentFilter
        }
    }
}

extension FinishReason {
    /// Decodes a finish reason.
    ///
    /// - Throws: ``InferenceError`` with `internal` for `UNSPECIFIED` and `ERROR`, which the domain cannot express.
    package init(proto: Sluice_Inference_V1_FinishReason) throws {
        switch proto {
        case .stop: self = .stop
        case .length: self = .length
        case .toolCalls: self = .toolCalls
        case .contentFilter: self = .contentFilter
        case .unspecified, .error, .UNRECOGNIZED:
            throw InferenceError(.internal, "The inference service sent an unsupported finish reason (\(proto))")
        }
    }
}

extension Sluice_Inference_V1_Usage {
    package init(_ usage: Usage) {
        self.init()
        promptTokens = Int32(clamping: usage.promptTokens)
        completionTokens = Int32(clamping: usage.completionTokens)
        totalTokens = Int32(clamping: usage.totalTokens)
        estimated = usage.isEstimated
        cachedPromptTokens = Int32(clamping: usage.cachedPromptTokens)
    }
}

extension Usage {
    package init(proto: Sluice_Inference_V1_Usage) {
        self.init(
            promptTokens: Int(proto.promptTokens),
            completionTokens: Int(proto.completionTokens),
            isEstimated: proto.estimated,
            cachedPromptTokens: Int(proto.cachedPromptTokens)
        )
    }
}

extension Sluice_Inference_V1_ChatStreamEvent {
    /// Encodes the `start` event of an open stream.
    package init(startOf stream: ChatStream) {
        self.init()
        var start = Sluice_Inference_V1_StreamStart()
        start.id = stream.id
        start.created = stream.created
        start.provider = stream.servedBy.provider
        start.model = stream.servedBy.model
        start.attempt = Int32(clamping: stream.servedBy.attempt)
        event = .start(start)
    }

    /// Encodes a domain event.
    ///
    /// - Parameters:
    ///   - event: The event.
    ///   - isFirstDelta: Whether this is the stream's first delta, which carries the assistant role.
    package init(_ event: ChatStreamEvent, isFirstDelta: Bool) {
        self.init()
        switch event {
        case .delta(let value):
            var delta = Sluice_Inference_V1_Delta()
            if isFirstDelta { delta.role = .assistant }
            delta.content = value.content ?? ""
            delta.toolCalls = value.toolCalls.map(Sluice_Inference_V1_ToolCallDelta.init)
            self.event = .delta(delta)
        case .finish(let reason):
            var finish = Sluice_Inference_V1_Finish()
            finish.reason = Sluice_Inference_V1_FinishReason(reason)
            self.event = .finish(finish)
        case .usage(let usage):
            self.event = .usage(Sluice_Inference_V1_Usage(usage))
        }
    }
}

extension ChatStreamEvent {
    /// Decodes an event after `start`.
    ///
    /// - Throws: ``InferenceError`` with `internal` for a second `start`, an empty event or a bad finish reason.
    package init(proto: Sluice_Inference_V1_ChatStreamEvent) throws {
        switch proto.event {
        case .delta(let delta):
            self = .delta(
                ChatDelta(
                    content: delta.content.isEmpty ? nil : delta.content,
                    toolCalls: delta.toolCalls.map(ToolCallDelta.init(proto:))
                )
            )
        case .finish(let finish):
            self = .finish(try FinishReason(proto: finish.reason))
        case .usage(let usage):
            self = .usage(Usage(proto: usage))
        case .start:
            throw InferenceError(.internal, "The inference service sent a second stream start")
        case nil:
            throw InferenceError(.internal, "The inference service sent an empty stream event")
        }
    }
}

extension Sluice_Inference_V1_ToolCallDelta {
    package init(_ delta: ToolCallDelta) {
        self.init()
        index = Int32(clamping: delta.index)
        id = delta.id ?? ""
        name = delta.name ?? ""
        arguments = delta.arguments ?? ""
    }
}

extension ToolCallDelta {
    package init(proto: Sluice_Inference_V1_ToolCallDelta) {
        self.init(
            index: Int(proto.index),
            id: proto.id.isEmpty ? nil : proto.id,
            name: proto.name.isEmpty ? nil : proto.name,
            arguments: proto.arguments.isEmpty ? nil : proto.arguments
        )
    }
}
