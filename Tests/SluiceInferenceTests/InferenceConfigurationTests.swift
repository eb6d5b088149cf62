import SluiceInference
import SluiceTesting
import Testing

@Suite("Inference configuration")
struct InferenceConfigurationTests {
    private static let valid = InferenceConfiguration(
        providers: [
            ProviderConfiguration(name: "openai", kind: .openAI, apiKeyEnv: "OPENAI_KEY"),
            ProviderConfiguration(name: "azure", kind: .azureOpenAI, baseURL: "https://x.openai.azure.com"),
        ],
        models: [
            .model("gpt-4o", [("openai", "gpt-4o"), ("azure", "gpt4o-deployment"), ("echo", "echo")])
        ]
    )

    @Test("finds no problem in a valid configuration, with the built-in echo provider")
    func validConfiguration() {
        // Given a valid configuration whose model falls back to the built-in echo
        let configuration = Self.valid

        // When it is checked
        let problems = configuration.problems

        // Then nothing is wrong
        #expect(problems == [])
    }

    /// One way to break the valid configuration, and the problem it should produce.
    enum Breakage: CaseIterable, Sendable {
        case emptyProviderName, duplicateProvider, azureWithoutBaseURL, badBaseURL, zeroTimeout, noAttempts
        case zeroBreakerThreshold, emptyModelName, duplicateModel, noDeployments, unknownProvider

        func apply(to configuration: inout InferenceConfiguration) {
            switch self {
            case .emptyProviderName: configuration.providers[0].name = ""
            case .duplicateProvider: configuration.providers[1].name = "openai"
            case .azureWithoutBaseURL: configuration.providers[1].baseURL = nil
            case .badBaseURL: configuration.providers[0].baseURL = "ftp://x"
            case .zeroTimeout: configuration.providers[0].timeouts.firstTokenMs = 0
            case .noAttempts: configuration.providers[0].retry.maxAttempts = 0
            case .zeroBreakerThreshold: configuration.providers[0].circuitBreaker.failureThreshold = 0
            case .emptyModelName: configuration.models[0].name = ""
            case .duplicateModel: configuration.models.append(configuration.models[0])
            case .noDeployments: configuration.models[0].deployments = []
            case .unknownProvider: configuration.models[0].deployments.append(.init(provider: "ghost", model: "x"))
            }
        }

        /// The problems, including those that follow from the breakage (a renamed provider is unknown to models).
        var expected: [String] {
            switch self {
            case .emptyProviderName:
                ["providers[0].name is empty", "models[0] (gpt-4o) names unknown provider 'openai'"]
            case .duplicateProvider:
                ["providers[1].name 'openai' is used twice", "models[0] (gpt-4o) names unknown provider 'azure'"]
            case .azureWithoutBaseURL: ["providers[1] (azure): azure-openai needs base_url"]
            case .badBaseURL: ["providers[0] (openai): base_url must start with http:// or https://"]
            case .zeroTimeout: ["providers[0] (openai): timeouts must be positive"]
            case .noAttempts: ["providers[0] (openai): retry.max_attempts must be at least 1"]
            case .zeroBreakerThreshold: ["providers[0] (openai): circuit_breaker.failure_threshold must be at least 1"]
            case .emptyModelName: ["models[0].name is empty"]
            case .duplicateModel: ["models[1].name 'gpt-4o' is used twice"]
            case .noDeployments: ["models[0] (gpt-4o) has no deployments"]
            case .unknownProvider: ["models[0] (gpt-4o) names unknown provider 'ghost'"]
            }
        }
    }

    @Test("names the offending key of each problem", arguments: Breakage.allCases)
    func reportsProblem(breakage: Breakage) {
        // Given a valid configuration with one thing broken
        var configuration = Self.valid
        breakage.apply(to: &configuration)

        // When it is checked
        let problems = configuration.problems

        // Then exactly the expected problems are reported
        #expect(problems == breakage.expected)
    }

    @Test("reports every problem at once")
    func reportsAllProblems() {
        // Given a configuration with three problems
        var configuration = Self.valid
        configuration.providers[0].retry.maxAttempts = 0
        configuration.models[0].deployments.append(.init(provider: "ghost", model: "x"))
        configuration.models.append(.model("empty", []))

        // When it is checked
        let problems = configuration.problems

        // Then all three are listed
        #expect(problems.count == 3)
    }

    @Test("adds the built-in echo provider and model unless configured")
    func builtInEcho() {
        // Given a configuration without echo, and one that configures its own
        let plain = Self.valid
        var custom = Self.valid
        custom.providers.append(ProviderConfiguration(name: "echo", kind: .echo))
        custom.models.append(.model("echo", [("openai", "gpt-4o-mini")]))

        // When the effective providers and models are computed
        // Then echo is added only to the first
        #expect(plain.effectiveProviders.map(\.name) == ["openai", "azure", "echo"])
        #expect(plain.effectiveModels.last == .model("echo", [("echo", "echo")]))
        #expect(custom.effectiveProviders.filter { $0.name == "echo" }.count == 1)
        #expect(custom.effectiveModels.filter { $0.name == "echo" } == [.model("echo", [("openai", "gpt-4o-mini")])])
    }
}
