import Foundation
import SluiceInference
import Testing

@Suite("Provider configuration")
struct ProviderConfigurationTests {
    private static func decode(_ json: String) throws -> ProviderConfiguration {
        try JSONDecoder().decode(ProviderConfiguration.self, from: Data(json.utf8))
    }

    @Test("fills every omitted setting with its documented default")
    func defaults() throws {
        // Given a provider with only a name and a kind
        let json = #"{"name": "openai", "kind": "openai"}"#

        // When it is decoded
        let provider = try Self.decode(json)

        // Then every setting has its default
        #expect(provider.name == "openai")
        #expect(provider.kind == .openAI)
        #expect(provider.baseURL == nil && provider.apiKeyEnv == nil && provider.apiVersion == nil)
        #expect(provider.timeouts.connectMs == 2_000)
        #expect(provider.timeouts.firstTokenMs == 30_000)
        #expect(provider.timeouts.totalMs == 300_000)
        #expect(provider.retry.maxAttempts == 3)
        #expect(provider.retry.baseDelayMs == 200)
        #expect(provider.retry.maxDelayMs == 5_000)
        #expect(provider.retry.maxRetryAfterMs == 10_000)
        #expect(provider.circuitBreaker.failureThreshold == 5)
        #expect(provider.circuitBreaker.openMs == 30_000)
        #expect(provider.echo.firstTokenDelayMs == 0 && provider.echo.perTokenDelayMs == 0)
    }

    @Test("keeps the defaults of the keys a nested section leaves out")
    func partialSections() throws {
        // Given sections that set one key each
        let json = """
            {"name": "mock", "kind": "openai", "base_url": "http://127.0.0.1:9001/v1", "api_key_env": "MOCK_KEY",
             "timeouts": {"first_token_ms": 1000}, "retry": {"max_attempts": 5},
             "circuit_breaker": {"open_ms": 100}, "echo": {"per_token_delay_ms": 7}}
            """

        // When it is decoded
        let provider = try Self.decode(json)

        // Then the set keys win and the others keep their defaults
        #expect(provider.baseURL == "http://127.0.0.1:9001/v1")
        #expect(provider.apiKeyEnv == "MOCK_KEY")
        #expect(provider.timeouts.firstTokenMs == 1_000)
        #expect(provider.timeouts.connectMs == 2_000)
        #expect(provider.retry.maxAttempts == 5)
        #expect(provider.retry.baseDelayMs == 200)
        #expect(provider.circuitBreaker.openMs == 100)
        #expect(provider.circuitBreaker.failureThreshold == 5)
        #expect(provider.echo.perTokenDelayMs == 7)
    }

    @Test("accepts every known kind", arguments: ["openai", "azure-openai", "anthropic", "echo"])
    func knownKinds(kind: String) throws {
        // When a provider of a known kind is decoded
        let provider = try Self.decode(#"{"name": "p", "kind": "\#(kind)"}"#)

        // Then it keeps that kind
        #expect(provider.kind.rawValue == kind)
    }

    @Test("rejects an unknown kind and names it", arguments: ["gemini", "OpenAI", ""])
    func unknownKind(kind: String) throws {
        // Given a provider of an unknown kind
        let json = #"{"name": "p", "kind": "\#(kind)"}"#

        // When it is decoded
        let error = #expect(throws: DecodingError.self) { try Self.decode(json) }

        // Then the error names the kind and the key
        guard case .dataCorrupted(let context) = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("'\(kind)'"))
        #expect(context.codingPath.last?.stringValue == "kind")
    }

    @Test("requires a name")
    func requiresName() {
        // When a provider without a name is decoded
        // Then decoding fails
        #expect(throws: DecodingError.self) { try Self.decode(#"{"kind": "openai"}"#) }
    }

    @Test("turns the retry settings into a retry policy")
    func retryPolicy() throws {
        // Given retry settings
        let provider = try Self.decode(
            """
            {"name": "p", "kind": "openai",
             "retry": {"max_attempts": 4, "base_delay_ms": 50, "max_delay_ms": 800, "max_retry_after_ms": 3000}}
            """
        )

        // When the policy is derived
        let policy = provider.retryPolicy

        // Then it carries the same numbers
        #expect(
            policy
                == RetryPolicy(
                    maxAttempts: 4,
                    baseDelay: .milliseconds(50),
                    maxDelay: .milliseconds(800),
                    maxRetryAfter: .seconds(3)
                )
        )
    }
}
