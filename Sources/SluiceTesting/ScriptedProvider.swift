package import SluiceInference
import Synchronization

/// A provider that plays back a script: each call takes the next step, and the last step repeats.
///
/// A step answers in one piece, fails with a given error before anything is sent, or streams given events and
/// then ends or throws. A stream without a `finish` event is a cut stream. The provider records every call, so a
/// test can check how often a deployment was tried and with which upstream model.
///
/// ```swift
/// let flaky = ScriptedProvider(name: "flaky", steps: [
///     .fail(InferenceError(.upstreamUnavailable, "boom")),
///     .text("hello"),
/// ])
/// ```
package final class ScriptedProvider: ChatProvider {
    /// One scripted outcome.
    package enum Step: Sendable {
        /// Answers with this reply; a stream gets its text as one delta, then `finish` and the usage, if any.
        case reply(ProviderReply)
        /// Throws this error before answering or opening a stream.
        case fail(any Error)
        /// Streams these events, then ends, or throws `thenThrow`; `chat` assembles them into a reply.
        case stream([ChatStreamEvent], thenThrow: (any Error)? = nil)

        /// Answers with an assistant text.
        ///
        /// - Parameters:
        ///   - text: The answer.
        ///   - finish: Why generation stopped.
        ///   - usage: The usage the upstream reports, or `nil` for none.
        /// - Returns: The step.
        package static func text(_ text: String, finish: FinishReason = .stop, usage: Usage? = nil) -> Step {
            .reply(
                ProviderReply(message: ChatMessage(role: .assistant, text: text), finishReason: finish, usage: usage)
            )
        }

        /// Streams the pieces as deltas, then `finish`, then the usage if given.
        ///
        /// - Parameters:
        ///   - pieces: The text deltas.
        ///   - finish: Why generation stopped.
        ///   - usage: The usage the upstream reports, or `nil` for none.
        /// - Returns: The step.
        package static func streamText(_ pieces: [String], finish: FinishReason = .stop, usage: Usage? = nil) -> Step {
            var events = pieces.map { ChatStreamEvent.delta(ChatDelta(content: $0)) }
            events.append(.finish(finish))
            if let usage { events.append(.usage(usage)) }
            return .stream(events)
        }
    }

    /// One call the provider received.
    package struct Call: Sendable {
        /// Whether it was `chat` or `openStream`.
        package var isStream: Bool
        /// The upstream model it was asked for.
        package var upstreamModel: String
        /// The request.
        package var request: ChatRequest
    }

    /// The configured provider name.
    package let name: String
    private let state: Mutex<State>

    private struct State {
        var steps: [Step]
        var calls: [Call] = []
    }

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - steps: The outcomes of successive calls; the last one repeats. Must not be empty.
    package init(name: String, steps: [Step]) {
        precondition(!steps.isEmpty, "a scripted provider needs at least one step")
        self.name = name
        self.state = Mutex(State(steps: steps))
    }

    /// Creates a provider that always takes the same step.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - step: The outcome of every call.
    package convenience init(name: String, always step: Step) {
        self.init(name: name, steps: [step])
    }

    /// Every call so far, oldest first.
    package var calls: [Call] { state.withLock { $0.calls } }

    /// How many calls were made.
    package var callCount: Int { state.withLock { $0.calls.count } }

    // MARK: - ChatProvider

    /// Answers in one piece; see ``ChatProvider/chat(_:upstreamModel:)``.
    package func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply {
        switch take(Call(isStream: false, upstreamModel: upstreamModel, request: request)) {
        case .reply(let reply):
            return reply
        case .fail(let error):
            throw error
        case .stream(let events, let error):
            if let error { throw error }
            return Self.assemble(events)
        }
    }

    /// Starts a streamed answer; see ``ChatProvider/openStream(_:upstreamModel:)``.
    package func openStream(
        _ request: ChatRequest,
        upstreamModel: String
    ) async throws
        -> ChatEvents
    {
        let events: [ChatStreamEvent]
        let failure: (any Error)?
        switch take(Call(isStream: true, upstreamModel: upstreamModel, request: request)) {
        case .reply(let reply):
            events = Self.events(of: reply)
            failure = nil
        case .fail(let error):
            throw error
        case .stream(let scripted, let error):
            events = scripted
            failure = error
        }
        return ChatEvents(
            AsyncThrowingStream { continuation in
                for event in events { continuation.yield(event) }
                continuation.finish(throwing: failure)
            }
        )
    }

    // MARK: - Script

    private func take(_ call: Call) -> Step {
        state.withLock { state in
            state.calls.append(call)
            return state.steps.count > 1 ? state.steps.removeFirst() : state.steps[0]
        }
    }

    private static func events(of reply: ProviderReply) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        let text = reply.message.text
        if !text.isEmpty { events.append(.delta(ChatDelta(content: text))) }
        for (index, call) in reply.message.toolCalls.enumerated() {
            events.append(
                .delta(
                    ChatDelta(toolCalls: [
                        ToolCallDelta(index: index, id: call.id, name: call.name, arguments: call.arguments)
                    ])
                )
            )
        }
        events.append(.finish(reply.finishReason))
        if let usage = reply.usage { events.append(.usage(usage)) }
        return events
    }

    private static func assemble(_ events: [ChatStreamEvent]) -> ProviderReply {
        var text = ""
        var finish = FinishReason.stop
        var usage: Usage?
        for event in events {
            switch event {
            case .delta(let delta): text += delta.content ?? ""
            case .finish(let reason): finish = reason
            case .usage(let reported): usage = reported
            }
        }
        return ProviderReply(message: ChatMessage(role: .assistant, text: text), finishReason: finish, usage: usage)
    }
}
