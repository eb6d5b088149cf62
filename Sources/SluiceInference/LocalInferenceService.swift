import Foundation
package import Logging
import Metrics
import Synchronization

/// The in-process inference service: routes public models onto provider deployments with retries, circuit
/// breakers and ordered fallbacks, and makes sure every answer carries usage.
///
/// For each deployment of a model, in order: skip it while its circuit breaker is open; otherwise call it,
/// retrying connect errors, 429 and 5xx with jittered exponential backoff (a `Retry-After` replaces the computed
/// delay); when its attempts are spent, fall back to the next deployment. Streams fall back only until their
/// first event has been received: after that, a failure ends the stream with an error.
///
/// ```swift
/// let service = LocalInferenceService(
///     configuration: configuration,
///     providers: ["echo": EchoProvider(settings: .init(), tokens: tokens)],
///     tokens: tokens,
///     logger: logger
/// )
/// let answer = try await service.chat(ChatRequest(model: "echo", messages: [.init(role: .user, text: "hi")]))
/// ```
package final class LocalInferenceService: InferenceService {
    private let models: [String: ModelConfiguration]
    private let modelOrder: [String]
    private let providers: [String: any ChatProvider]
    private let policies: [String: RetryPolicy]
    private let breakerSettings: [String: ProviderConfiguration.Breaker]
    private let breakers = Mutex<[DeploymentConfiguration: CircuitBreaker]>([:])
    private let tokens: PromptTokenCounter
    private let logger: Logger
    private let random: @Sendable () -> Double

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - configuration: Providers and models; the built-in echo model is added unless configured.
    ///   - providers: A provider adapter per configured provider name.
    ///   - tokens: The counter used when an upstream reports no usage.
    ///   - logger: The logger for routing decisions.
    ///   - random: A source of numbers in `0..<1` for retry jitter; injected by tests.
    package init(
        configuration: InferenceConfiguration,
        providers: [String: any ChatProvider],
        tokens: PromptTokenCounter,
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        let models = configuration.effectiveModels
        self.models = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.modelOrder = models.map(\.name)
        self.providers = providers
        let providerConfigurations = configuration.effectiveProviders
        self.policies = Dictionary(
            providerConfigurations.map { ($0.name, $0.retryPolicy) },
            uniquingKeysWith: { first, _ in first }
        )
        self.breakerSettings = Dictionary(
            providerConfigurations.map { ($0.name, $0.circuitBreaker) },
            uniquingKeysWith: { first, _ in first }
        )
        self.tokens = tokens
        self.logger = logger
        self.random = random
    }

    // MARK: - InferenceService

    /// Answers in one piece, with routing, retries and fallbacks; see ``InferenceService/chat(_:)``.
    package func chat(_ request: ChatRequest) async throws -> ChatResponse {
        try request.validate()
        let (reply, servedBy) = try await withFallbacks(for: request) { deployment, provider in
            try await provider.chat(request, upstreamModel: deployment.model)
        }
        let usage = reply.usage ?? estimatedUsage(request: request, message: reply.message, servedBy: servedBy)
        return ChatResponse(
            id: Self.makeCompletionID(),
            created: Int64(Date().timeIntervalSince1970),
            servedBy: servedBy,
            message: reply.message,
            finishReason: reply.finishReason,
            usage: usage
        )
    }

    /// Opens a streamed answer once a deployment has sent its first event; see ``InferenceService/openChatStream(_:)``.
    package func openChatStream(_ request: ChatRequest) async throws -> ChatStream {
        try request.validate()
        let (opened, servedBy) = try await withFallbacks(for: request) { deployment, provider in
            let events = try await provider.openStream(request, upstreamModel: deployment.model)
            let upstream = events.makeAsyncIterator()
            guard let first = try await upstream.next() else {
                throw InferenceError(
                    .upstreamUnavailable,
                    "the upstream ended the stream before sending anything",
                    provider: provider.name
                )
            }
            return OpenedStream(first: first, upstream: upstream)
        }
        let relay = UsageCompletingIterator(
            pending: opened.first,
            upstream: opened.upstream,
            servedBy: servedBy,
            promptUsage: { [tokens] in tokens.countPrompt(request.messages, upstreamModel: servedBy.model) },
            completionTokens: { [tokens] text in tokens.countCompletion(text, upstreamModel: servedBy.model) },
            includeUsage: request.includeUsage
        )
        return ChatStream(
            id: Self.makeCompletionID(),
            created: Int64(Date().timeIntervalSince1970),
            servedBy: servedBy,
            events: ChatEvents(pulling: relay)
        )
    }

    /// Lists the configured public models, in configuration order.
    package func listModels() async throws -> [ModelDescriptor] {
        let now = ContinuousClock.now
        let states = breakers.withLock { breakers in breakers.mapValues(\.state) }
        return modelOrder.compactMap { models[$0] }.map { model in
            ModelDescriptor(
                id: model.name,
                ownedBy: model.deployments.first?.provider ?? "sluice",
                deployments: model.deployments.map { deployment in
                    let circuit: ModelDescriptor.Circuit =
                        switch states[deployment] {
                        case nil, .closed: .closed
                        case .open(let until) where until > now: .open
                        case .open, .halfOpen: .halfOpen
                        }
                    return .init(provider: deployment.provider, model: deployment.model, circuit: circuit)
                },
                encoding: model.deployments.first.map { tokens.counter(forUpstreamModel: $0.model).encoding } ?? ""
            )
        }
    }

    /// Counts with the first deployment's encoding, flagged when estimated.
    package func countTokens(_ request: TokenCountRequest) async throws -> TokenCountResult {
        guard let configuration = models[request.model], let first = configuration.deployments.first else {
            throw InferenceError(.modelNotFound, "The model '\(request.model)' does not exist")
        }
        switch request.input {
        case .prompt(let messages, let tools):
            return tokens.countPrompt(messages, tools: tools, upstreamModel: first.model)
        case .text(let text):
            return tokens.countText(text, upstreamModel: first.model)
        }
    }

    // MARK: - Routing, retries, breakers

    private struct OpenedStream: Sendable {
        var first: ChatStreamEvent
        var upstream: ChatEvents.Iterator
    }

    private func deployments(for request: ChatRequest) throws -> [DeploymentConfiguration] {
        if let route = request.route {
            guard providers[route.provider] != nil else {
                throw InferenceError(.modelNotFound, "The route names an unknown provider '\(route.provider)'")
            }
            guard route.model.isEmpty else {
                return [DeploymentConfiguration(provider: route.provider, model: route.model)]
            }
            // No upstream model: the catalog's deployment of the requested model at that provider.
            guard
                let deployment = models[request.model]?.deployments.first(where: { $0.provider == route.provider })
            else {
                throw InferenceError(
                    .modelNotFound,
                    "The model '\(request.model)' has no deployment at the provider '\(route.provider)'"
                )
            }
            return [deployment]
        }
        guard let model = models[request.model] else {
            throw InferenceError(.modelNotFound, "The model '\(request.model)' does not exist")
        }
        return model.deployments
    }

    private func withFallbacks<Result>(
        for request: ChatRequest,
        _ operation: (DeploymentConfiguration, any ChatProvider) async throws -> Result
    ) async throws -> (Result, ServedBy) {
        var lastError: InferenceError?
        var attempt = 0
        for deployment in try deployments(for: request) {
            guard let provider = providers[deployment.provider] else {
                lastError = InferenceError(.internal, "provider '\(deployment.provider)' is not running")
                continue
            }
            let policy = policies[deployment.provider] ?? RetryPolicy()
            var tries = 0
            while true {
                guard acquireBreaker(deployment) else {
                    logger.debug("circuit open", metadata: ["provider": "\(deployment.provider)"])
                    lastError =
                        lastError
                        ?? InferenceError(
                            .circuitOpen,
                            "Every deployment of '\(request.model)' is temporarily unavailable",
                            provider: deployment.provider
                        )
                    break
                }
                attempt += 1
                tries += 1
                do {
                    let result = try await operation(deployment, provider)
                    recordBreaker(deployment, success: true)
                    return (result, ServedBy(provider: deployment.provider, model: deployment.model, attempt: attempt))
                } catch {
                    let failure = InferenceError(wrapping: error, provider: deployment.provider)
                    if failure.code == .cancelled || Task.isCancelled {
                        recordBreaker(deployment, success: true)
                        throw InferenceError(.cancelled, "The request was cancelled")
                    }
                    recordBreaker(deployment, success: !failure.allowsFallback)
                    Counter(
                        label: "sluice_upstream_errors_total",
                        dimensions: [("provider", deployment.provider), ("code", failure.code.rawValue)]
                    ).increment()
                    logger.warning(
                        "upstream attempt failed",
                        metadata: [
                            "provider": "\(deployment.provider)", "model": "\(deployment.model)",
                            "attempt": "\(attempt)", "error": "\(failure)", "request_id": "\(request.requestID)",
                        ]
                    )
                    lastError = failure
                    guard failure.allowsFallback else { throw failure }
                    guard failure.isRetryable, !isBreakerOpen(deployment),
                        let delay = policy.delay(afterAttempt: tries, retryAfter: failure.retryAfter, random: random)
                    else { break }
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        throw InferenceError(.cancelled, "The request was cancelled")
                    }
                }
            }
        }
        throw lastError ?? InferenceError(.modelNotFound, "The model '\(request.model)' has no deployments")
    }

    private func acquireBreaker(_ deployment: DeploymentConfiguration) -> Bool {
        let now = ContinuousClock.now
        return breakers.withLock { breakers in
            breakers[deployment, default: makeBreaker(for: deployment)].acquire(now: now)
        }
    }

    private func recordBreaker(_ deployment: DeploymentConfiguration, success: Bool) {
        let now = ContinuousClock.now
        breakers.withLock { breakers in
            breakers[deployment, default: makeBreaker(for: deployment)].record(success: success, now: now)
        }
    }

    /// Whether the deployment's breaker is open now, so retrying it would be refused anyway.
    private func isBreakerOpen(_ deployment: DeploymentConfiguration) -> Bool {
        breakers.withLock { breakers in
            if case .open = breakers[deployment]?.state { return true }
            return false
        }
    }

    private func makeBreaker(for deployment: DeploymentConfiguration) -> CircuitBreaker {
        let settings = breakerSettings[deployment.provider] ?? ProviderConfiguration.Breaker()
        return CircuitBreaker(threshold: settings.failureThreshold, openDuration: .milliseconds(settings.openMs))
    }

    // MARK: - Usage

    private func estimatedUsage(request: ChatRequest, message: ChatMessage, servedBy: ServedBy) -> Usage {
        let prompt = tokens.countPrompt(request.messages, upstreamModel: servedBy.model)
        let generated = message.text + message.toolCalls.map { $0.name + $0.arguments }.joined()
        let completion = tokens.countCompletion(generated, upstreamModel: servedBy.model)
        return Usage(promptTokens: prompt.tokens, completionTokens: completion, isEstimated: true)
    }

    private static func makeCompletionID() -> String {
        "chatcmpl-" + RandomIdentifier.hex()
    }
}

extension InferenceError {
    /// Wraps any error thrown while calling a provider.
    ///
    /// - Parameters:
    ///   - error: The error.
    ///   - provider: The provider that was called.
    package init(wrapping error: any Error, provider: String?) {
        if let error = error as? InferenceError {
            self = error
            if self.provider == nil { self.provider = provider }
        } else if error is CancellationError {
            self.init(.cancelled, "The request was cancelled", provider: provider)
        } else {
            self.init(.upstreamUnavailable, "The upstream call failed: \(error)", provider: provider)
        }
    }
}
