/// One configured provider: its kind, address, credentials and resilience settings.
///
/// Configuration keys (all but `name` and `kind` optional):
/// - `name`: the name deployments refer to.
/// - `kind`: `openai` (also any OpenAI-compatible server such as Ollama or vLLM), `azure-openai`, `anthropic`, `echo`.
/// - `base_url`: for `openai` defaults to `https://api.openai.com/v1`, for `anthropic` to `https://api.anthropic.com`;
///   for `azure-openai` the resource endpoint, `https://NAME.openai.azure.com`.
/// - `api_key_env`: the environment variable holding the provider key (keys never sit in the file).
/// - `api_version`: Azure OpenAI's `api-version` (default `2024-10-21`); Anthropic's `anthropic-version`
///   (default `2023-06-01`).
/// - `timeouts`: `connect_ms` (2000), `first_token_ms` (30000; also the longest silence inside a stream),
///   `total_ms` (300000).
/// - `retry`: `max_attempts` (3), `base_delay_ms` (200), `max_delay_ms` (5000), `max_retry_after_ms` (10000).
/// - `circuit_breaker`: `failure_threshold` (5) consecutive failed attempts (retries count) open it for `open_ms`
///   (30000); a deployment whose breaker opens mid-retries is left for the next one at once.
/// - `echo`: for the `echo` kind, `first_token_delay_ms` (0) and `per_token_delay_ms` (0).
package struct ProviderConfiguration: Sendable, Hashable, Codable {
    /// The provider name.
    package var name: String
    /// The kind of upstream API.
    package var kind: Kind
    /// The upstream base URL, or `nil` for the kind's default.
    package var baseURL: String?
    /// The environment variable that holds the provider key.
    package var apiKeyEnv: String?
    /// Azure's `api-version` or Anthropic's `anthropic-version`.
    package var apiVersion: String?
    /// Timeouts for each call.
    package var timeouts: Timeouts
    /// Retry settings.
    package var retry: Retry
    /// Circuit-breaker settings.
    package var circuitBreaker: Breaker
    /// Settings of the `echo` kind.
    package var echo: Echo

    /// Creates a provider configuration with default settings.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - kind: The kind of upstream API.
    ///   - baseURL: The upstream base URL.
    ///   - apiKeyEnv: The environment variable holding the key.
    package init(name: String, kind: Kind, baseURL: String? = nil, apiKeyEnv: String? = nil) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.apiVersion = nil
        self.timeouts = Timeouts()
        self.retry = Retry()
        self.circuitBreaker = Breaker()
        self.echo = Echo()
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, timeouts, retry, echo
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case apiVersion = "api_version"
        case circuitBreaker = "circuit_breaker"
    }

    /// Decodes from the configuration file; absent keys keep their defaults.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(Kind.self, forKey: .kind)
        baseURL = try container.decodeIfPresent(String.self, forKey: .baseURL)
        apiKeyEnv = try container.decodeIfPresent(String.self, forKey: .apiKeyEnv)
        apiVersion = try container.decodeIfPresent(String.self, forKey: .apiVersion)
        timeouts = try container.decodeIfPresent(Timeouts.self, forKey: .timeouts) ?? Timeouts()
        retry = try container.decodeIfPresent(Retry.self, forKey: .retry) ?? Retry()
        circuitBreaker = try container.decodeIfPresent(Breaker.self, forKey: .circuitBreaker) ?? Breaker()
        echo = try container.decodeIfPresent(Echo.self, forKey: .echo) ?? Echo()
    }

    /// Problems with this provider's settings.
    var problems: [String] {
        var problems: [String] = []
        if kind == .azureOpenAI, baseURL == nil { problems.append("azure-openai needs base_url") }
        if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            problems.append("base_url must start with http:// or https://")
        }
        if timeouts.connectMs <= 0 || timeouts.firstTokenMs <= 0 || timeouts.totalMs <= 0 {
            problems.append("timeouts must be positive")
        }
        if retry.maxAttempts < 1 { problems.append("retry.max_attempts must be at least 1") }
        if circuitBreaker.failureThreshold < 1 {
            problems.append("circuit_breaker.failure_threshold must be at least 1")
        }
        return problems
    }

    /// The retry policy these settings describe.
    package var retryPolicy: RetryPolicy {
        RetryPolicy(
            maxAttempts: retry.maxAttempts,
            baseDelay: .milliseconds(retry.baseDelayMs),
            maxDelay: .milliseconds(retry.maxDelayMs),
            maxRetryAfter: .milliseconds(retry.maxRetryAfterMs)
        )
    }
}

extension ProviderConfiguration {
    /// The kind of upstream API a provider speaks.
    package struct Kind: Sendable, Hashable, Codable, RawRepresentable, CustomStringConvertible {
        /// The configuration spelling.
        package let rawValue: String
        /// Creates a kind from its spelling.
        ///
        /// - Parameter rawValue: The configuration spelling.
        package init(rawValue: String) { self.rawValue = rawValue }
        /// A readable form, for logs and error messages.
        package var description: String { rawValue }

        /// OpenAI's chat completions API, or any server that speaks it.
        package static let openAI = Kind(rawValue: "openai")
        /// Azure OpenAI: deployments and `api-version`.
        package static let azureOpenAI = Kind(rawValue: "azure-openai")
        /// Anthropic's Messages API.
        package static let anthropic = Kind(rawValue: "anthropic")
        /// The built-in offline echo model.
        package static let echo = Kind(rawValue: "echo")
        /// Every kind Sluice knows.
        package static let all: [Kind] = [.openAI, .azureOpenAI, .anthropic, .echo]

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(String.self)
            guard Self.all.contains(Kind(rawValue: raw)) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "unknown provider kind '\(raw)'; expected one of "
                            + Self.all.map(\.rawValue).joined(separator: ", ")
                    )
                )
            }
            self.rawValue = raw
        }
    }

    /// Per-call timeouts.
    package struct Timeouts: Sendable, Hashable, Codable {
        /// Connecting to the upstream.
        package var connectMs: Int64 = 2_000
        /// Waiting for the first byte of an answer, and the longest silence inside a stream.
        package var firstTokenMs: Int64 = 30_000
        /// The whole call.
        package var totalMs: Int64 = 300_000

        /// Creates the default timeouts.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case connectMs = "connect_ms"
            case firstTokenMs = "first_token_ms"
            case totalMs = "total_ms"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connectMs = try container.decodeIfPresent(Int64.self, forKey: .connectMs) ?? connectMs
            firstTokenMs = try container.decodeIfPresent(Int64.self, forKey: .firstTokenMs) ?? firstTokenMs
            totalMs = try container.decodeIfPresent(Int64.self, forKey: .totalMs) ?? totalMs
        }
    }

    /// Retry settings.
    package struct Retry: Sendable, Hashable, Codable {
        /// Attempts per deployment, the first included.
        package var maxAttempts = 3
        /// The delay before the first retry.
        package var baseDelayMs: Int64 = 200
        /// The longest computed delay.
        package var maxDelayMs: Int64 = 5_000
        /// The longest `Retry-After` worth waiting for.
        package var maxRetryAfterMs: Int64 = 10_000

        /// Creates the default settings.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case maxAttempts = "max_attempts"
            case baseDelayMs = "base_delay_ms"
            case maxDelayMs = "max_delay_ms"
            case maxRetryAfterMs = "max_retry_after_ms"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            maxAttempts = try container.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? maxAttempts
            baseDelayMs = try container.decodeIfPresent(Int64.self, forKey: .baseDelayMs) ?? baseDelayMs
            maxDelayMs = try container.decodeIfPresent(Int64.self, forKey: .maxDelayMs) ?? maxDelayMs
            maxRetryAfterMs = try container.decodeIfPresent(Int64.self, forKey: .maxRetryAfterMs) ?? maxRetryAfterMs
        }
    }

    /// Circuit-breaker settings.
    package struct Breaker: Sendable, Hashable, Codable {
        /// Consecutive failed attempts (each retry counts) that open the breaker.
        package var failureThreshold = 5
        /// How long it stays open.
        package var openMs: Int64 = 30_000

        /// Creates the default settings.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case failureThreshold = "failure_threshold"
            case openMs = "open_ms"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            failureThreshold = try container.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? failureThreshold
            openMs = try container.decodeIfPresent(Int64.self, forKey: .openMs) ?? openMs
        }
    }

    /// Settings of the built-in echo model.
    package struct Echo: Sendable, Hashable, Codable {
        /// Delay before the first word.
        package var firstTokenDelayMs: Int64 = 0
        /// Delay before each later word.
        package var perTokenDelayMs: Int64 = 0

        /// Creates the default settings.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case firstTokenDelayMs = "first_token_delay_ms"
            case perTokenDelayMs = "per_token_delay_ms"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            firstTokenDelayMs = try container.decodeIfPresent(Int64.self, forKey: .firstTokenDelayMs) ?? 0
            perTokenDelayMs = try container.decodeIfPresent(Int64.self, forKey: .perTokenDelayMs) ?? 0
        }
    }
}
