/// One event of a streamed chat answer.
///
/// A successful stream is `delta`* then `finish` then `usage`. A stream that fails ends by throwing an
/// ``InferenceError``; it never ends cleanly without `finish`.
package enum ChatStreamEvent: Sendable, Hashable {
    /// Generated content: text and tool-call fragments.
    case delta(ChatDelta)
    /// Generation ended.
    case finish(FinishReason)
    /// Token counts for the whole call.
    case usage(Usage)
}

/// A piece of an assistant message.
package struct ChatDelta: Sendable, Hashable {
    /// Text to append.
    package var content: String?
    /// Tool-call fragments.
    package var toolCalls: [ToolCallDelta]

    /// Creates a delta.
    ///
    /// - Parameters:
    ///   - content: Text to append.
    ///   - toolCalls: Tool-call fragments.
    package init(content: String? = nil, toolCalls: [ToolCallDelta] = []) {
        self.content = content
        self.toolCalls = toolCalls
    }
}

/// An open chat stream: where it is served from, and the events still to come.
///
/// Opening a stream performs routing, retries and fallbacks; it returns once the first event has arrived
/// from a deployment, so the caller knows which provider answers before it commits to a response.
package struct ChatStream: Sendable {
    /// The completion id.
    package var id: String
    /// Creation time in Unix seconds.
    package var created: Int64
    /// Which deployment answers.
    package var servedBy: ServedBy
    /// The events, starting with the first one received.
    package var events: ChatEvents

    /// Creates an open stream.
    ///
    /// - Parameters:
    ///   - id: The completion id.
    ///   - created: Creation time in Unix seconds.
    ///   - servedBy: Which deployment answers.
    ///   - events: The events, starting with the first one received.
    package init(
        id: String,
        created: Int64,
        servedBy: ServedBy,
        events: ChatEvents
    ) {
        self.id = id
        self.created = created
        self.servedBy = servedBy
        self.events = events
    }

    /// Creates an open stream whose events come from `events`.
    ///
    /// - Parameters:
    ///   - id: The completion id.
    ///   - created: Creation time in Unix seconds.
    ///   - servedBy: Which deployment answers.
    ///   - events: The events, starting with the first one received.
    package init(
        id: String,
        created: Int64,
        servedBy: ServedBy,
        events: AsyncThrowingStream<ChatStreamEvent, any Error>
    ) {
        self.init(id: id, created: created, servedBy: servedBy, events: ChatEvents(events))
    }
}
