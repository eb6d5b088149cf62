/// Relays an upstream stream and enforces the order `ChatStream` promises: deltas, exactly one `finish`, then exactly
/// one usage event (the upstream's last report, or an estimate when it sent none) once the upstream has ended.
/// Deltas or a second finish after the first are dropped. A stream that stops without `finish`, or throws, ends with
/// ``InferenceError/Code/streamInterrupted`` (or `upstream_timeout` when the upstream went silent). When the request
/// did not ask for usage (``ChatRequest/includeUsage``), no usage event is relayed.
struct UsageCompletingIterator: AsyncIteratorProtocol {
    typealias Upstream = ChatEvents.Iterator

    private var pending: ChatStreamEvent?
    private let upstream: Upstream
    private let servedBy: ServedBy
    private let promptUsage: @Sendable () -> TokenCountResult
    private let completionTokens: @Sendable (String) -> Int
    private let includeUsage: Bool
    private var generated = ""
    private var finished = false
    /// The last usage the upstream reported.
    private var reported: Usage?
    private var done = false

    init(
        pending: ChatStreamEvent,
        upstream: Upstream,
        servedBy: ServedBy,
        promptUsage: @escaping @Sendable () -> TokenCountResult,
        completionTokens: @escaping @Sendable (String) -> Int,
        includeUsage: Bool = true
    ) {
        self.includeUsage = includeUsage
        self.pending = pending
        self.upstream = upstream
        self.servedBy = servedBy
        self.promptUsage = promptUsage
        self.completionTokens = completionTokens
    }

    mutating func next() async throws -> ChatStreamEvent? {
        while !done {
            let event: ChatStreamEvent?
            if let pending {
                event = pending
                self.pending = nil
            } else {
                do {
                    event = try await upstream.next()
                } catch {
                    done = true
                    let cause = InferenceError(wrapping: error, provider: servedBy.provider)
                    // Cancellation and timeouts keep their own code; anything else is an interruption.
                    if cause.code == .cancelled || cause.code == .upstreamTimeout { throw cause }
                    throw InferenceError(
                        .streamInterrupted,
                        "The upstream stream broke off: \(cause.message)",
                        provider: servedBy.provider
                    )
                }
            }
            guard let event else {
                done = true
                guard finished else {
                    throw InferenceError(
                        .streamInterrupted,
                        "The upstream ended the stream before it finished",
                        provider: servedBy.provider
                    )
                }
                return includeUsage ? .usage(reported ?? estimate()) : nil
            }
            switch event {
            case .delta(let delta):
                // Content after the finish is not part of the answer.
                guard !finished else { continue }
                if let content = delta.content { generated += content }
                for call in delta.toolCalls { generated += (call.name ?? "") + (call.arguments ?? "") }
                return event
            case .finish:
                guard !finished else { continue }
                finished = true
                return event
            case .usage(let usage):
                // Held until the upstream ends, so that exactly one usage follows the finish.
                reported = usage
            }
        }
        return nil
    }

    private func estimate() -> Usage {
        Usage(promptTokens: promptUsage().tokens, completionTokens: completionTokens(generated), isEstimated: true)
    }
}
