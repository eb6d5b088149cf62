/// Relays an upstream stream and enforces its ending: a stream that stops without `finish`, or throws, ends
/// with ``InferenceError/Code/streamInterrupted`` (or `upstream_timeout` when the upstream went silent); one that
/// finishes without usage gets an estimated usage event. When the request did not ask for usage
/// (``ChatRequest/includeUsage``), no usage event is relayed.
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
    private var sawUsage = false
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
        while true {
            guard let event = try await nextEvent() else { return nil }
            if case .usage = event, !includeUsage { continue }
            return event
        }
    }

    private mutating func nextEvent() async throws -> ChatStreamEvent? {
        guard !done else { return nil }
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
            guard sawUsage || !includeUsage else { return .usage(estimate()) }
            return nil
        }
        switch event {
        case .delta(let delta):
            if let content = delta.content { generated += content }
            for call in delta.toolCalls { generated += (call.name ?? "") + (call.arguments ?? "") }
        case .finish:
            finished = true
        case .usage:
            sawUsage = true
        }
        return event
    }

    private func estimate() -> Usage {
        Usage(promptTokens: promptUsage().tokens, completionTokens: completionTokens(generated), isEstimated: true)
    }
}
