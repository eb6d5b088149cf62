package import Logging
package import SluiceInference

extension Logger {
    /// A logger that drops everything, to keep test output quiet.
    package static var silent: Logger {
        Logger(label: "sluice.test", factory: { _ in SwiftLogNoOpLogHandler() })
    }
}

extension ProviderConfiguration {
    /// A provider configuration for a scripted provider: fast retries with no jitter wait to speak of.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - maxAttempts: Attempts per deployment, the first included.
    ///   - baseDelayMs: The delay before the first retry.
    ///   - maxRetryAfterMs: The longest `Retry-After` worth waiting for.
    ///   - failureThreshold: Consecutive failures that open the circuit breaker.
    ///   - openMs: How long the breaker stays open.
    /// - Returns: The configuration.
    package static func scripted(
        _ name: String,
        maxAttempts: Int = 1,
        baseDelayMs: Int64 = 1,
        maxRetryAfterMs: Int64 = 10_000,
        failureThreshold: Int = 100,
        openMs: Int64 = 60_000
    ) -> ProviderConfiguration {
        var configuration = ProviderConfiguration(name: name, kind: .openAI, baseURL: "http://127.0.0.1:9")
        configuration.retry.maxAttempts = maxAttempts
        configuration.retry.baseDelayMs = baseDelayMs
        configuration.retry.maxDelayMs = max(baseDelayMs, 1) * 4
        configuration.retry.maxRetryAfterMs = maxRetryAfterMs
        configuration.circuitBreaker.failureThreshold = failureThreshold
        configuration.circuitBreaker.openMs = openMs
        return configuration
    }
}

extension ModelConfiguration {
    /// A public model served by deployments given as `(provider, upstream model)` pairs, in order.
    ///
    /// - Parameters:
    ///   - name: The public model name.
    ///   - deployments: The deployments, tried in order.
    /// - Returns: The model configuration.
    package static func model(_ name: String, _ deployments: [(provider: String, model: String)]) -> ModelConfiguration
    {
        ModelConfiguration(
            name: name,
            deployments: deployments.map { DeploymentConfiguration(provider: $0.provider, model: $0.model) }
        )
    }
}

extension LocalInferenceService {
    /// Builds an inference service over test providers.
    ///
    /// Every provider without an entry in `configurations` gets the defaults of
    /// ``ProviderConfiguration/scripted(_:maxAttempts:baseDelayMs:maxRetryAfterMs:failureThreshold:openMs:)``
    /// (one attempt, no breaker to speak of). The built-in echo model stays available when an `echo`
    /// provider is passed.
    ///
    /// - Parameters:
    ///   - providers: The provider adapters.
    ///   - configurations: Provider settings, by name, overriding the defaults.
    ///   - models: The public models.
    ///   - tokens: The token counter; ``PromptTokenCounter/words`` by default.
    /// - Returns: The service.
    package static func testing(
        providers: [any ChatProvider],
        configurations: [ProviderConfiguration] = [],
        models: [ModelConfiguration],
        tokens: PromptTokenCounter = .words
    ) -> LocalInferenceService {
        let configured = Dictionary(configurations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let providerConfigurations = providers.map { provider in
            configured[provider.name]
                ?? (provider.name == InferenceConfiguration.echoName
                    ? ProviderConfiguration(name: provider.name, kind: .echo)
                    : .scripted(provider.name))
        }
        return LocalInferenceService(
            configuration: InferenceConfiguration(providers: providerConfigurations, models: models),
            providers: Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }),
            tokens: tokens,
            logger: .silent,
            random: { 0.5 }
        )
    }
}
