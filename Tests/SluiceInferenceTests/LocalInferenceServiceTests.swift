import SluiceInference
import SluiceTesting
import Testing

/// Routing, retries, fallbacks, circuit breakers and usage of non-streamed calls.
@Suite("Local inference service")
struct LocalInferenceServiceTests {
    private struct SocketError: Error {}

    private static func request(_ model: String = "m", _ text: String = "one two three") -> ChatRequest {
        ChatRequest(model: model, messages: [ChatMessage(role: .user, text: text)])
    }

    private static func error(_ code: InferenceError.Code, retryAfter: Duration? = nil) -> InferenceError {
        InferenceError(code, "scripted \(code)", retryAfter: retryAfter)
    }

    private static func code<T>(of operation: () async throws -> T) async -> InferenceError.Code? {
        do {
            _ = try await operation()
            return nil
        } catch let error as InferenceError {
            return error.code
        } catch {
            Issue.record("not an InferenceError: \(error)")
            return nil
        }
    }

    // MARK: - Routing

    @Test("routes a model to its first deployment", .timeLimit(.minutes(1)))
    func routesToFirstDeployment() async throws {
        // Given a model with two deployments
        let primary = ScriptedProvider(name: "a", always: .text("from a"))
        let fallback = ScriptedProvider(name: "b", always: .text("from b"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let response = try await service.chat(Self.request())

        // Then the first deployment answers with its upstream model name
        #expect(response.message.text == "from a")
        #expect(response.servedBy == ServedBy(provider: "a", model: "up-a", attempt: 1))
        #expect(primary.calls.map(\.upstreamModel) == ["up-a"])
        #expect(fallback.callCount == 0)
        #expect(response.id.hasPrefix("chatcmpl-"))
    }

    @Test("rejects an unknown model without calling any provider", .timeLimit(.minutes(1)))
    func unknownModel() async throws {
        // Given a service with one model
        let provider = ScriptedProvider(name: "a", always: .text("x"))
        let service = LocalInferenceService.testing(providers: [provider], models: [.model("m", [("a", "up")])])

        // When another model is called
        let code = await Self.code { try await service.chat(Self.request("nope")) }

        // Then it fails with model_not_found
        #expect(code == .modelNotFound)
        #expect(provider.callCount == 0)
    }

    @Test("sends a routed request to the named provider and upstream model", .timeLimit(.minutes(1)))
    func routeOverride() async throws {
        // Given a model served by a, and another provider b
        let a = ScriptedProvider(name: "a", always: .text("from a"))
        let b = ScriptedProvider(name: "b", always: .text("from b"))
        let service = LocalInferenceService.testing(providers: [a, b], models: [.model("m", [("a", "up-a")])])

        // When a request names the route b/custom, once for a known and once for an unknown public model
        var request = Self.request()
        request.route = ChatRequest.Route(provider: "b", model: "custom")
        let routed = try await service.chat(request)
        request.model = "not-configured"
        let unconfigured = try await service.chat(request)

        // Then b answers both with the route's model, and a is never called
        #expect(routed.servedBy == ServedBy(provider: "b", model: "custom", attempt: 1))
        #expect(unconfigured.servedBy.provider == "b")
        #expect(b.calls.map(\.upstreamModel) == ["custom", "custom"])
        #expect(a.callCount == 0)
    }

    @Test("rejects a route to an unknown provider", .timeLimit(.minutes(1)))
    func routeToUnknownProvider() async throws {
        // Given a service with provider a only
        let a = ScriptedProvider(name: "a", always: .text("x"))
        let service = LocalInferenceService.testing(providers: [a], models: [.model("m", [("a", "up")])])
        var request = Self.request()
        request.route = ChatRequest.Route(provider: "ghost", model: "x")

        // When the request is routed to an unknown provider
        let code = await Self.code { try await service.chat(request) }

        // Then it is not found and nothing is called
        #expect(code == .modelNotFound)
        #expect(a.callCount == 0)
    }

    @Test("a route without an upstream model takes the catalog's deployment at that provider", .timeLimit(.minutes(1)))
    func routeWithoutModel() async throws {
        // Given a model deployed at a and at b
        let a = ScriptedProvider(name: "a", always: .text("from a"))
        let b = ScriptedProvider(name: "b", always: .text("from b"))
        let service = LocalInferenceService.testing(
            providers: [a, b],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When a request is routed to b without naming an upstream model, and to a provider without a deployment
        var request = Self.request()
        request.route = ChatRequest.Route(provider: "b", model: "")
        let response = try await service.chat(request)
        var elsewhere = Self.request("other")
        elsewhere.route = ChatRequest.Route(provider: "b", model: "")
        let missing = await Self.code { try await service.chat(elsewhere) }

        // Then b's deployment of m answers, and a model with no deployment at b is not found
        #expect(response.servedBy == ServedBy(provider: "b", model: "up-b", attempt: 1))
        #expect(a.callCount == 0)
        #expect(missing == .modelNotFound)
    }

    @Test("lists the configured models in order, then the built-in echo model", .timeLimit(.minutes(1)))
    func listModels() async throws {
        // Given two configured models
        let service = LocalInferenceService.testing(
            providers: [
                ScriptedProvider(name: "a", always: .text("x")), ScriptedProvider(name: "b", always: .text("x")),
            ],
            models: [.model("zeta", [("b", "up-b"), ("a", "up-a")]), .model("alpha", [("a", "up-a")])]
        )

        // When the models are listed
        let models = try await service.listModels()

        // Then they keep configuration order, are owned by their first provider, and echo comes last
        #expect(models.map(\.id) == ["zeta", "alpha", "echo"])
        #expect(models.map(\.ownedBy) == ["b", "a", "echo"])
        #expect(models[0].deployments == [.init(provider: "b", model: "up-b"), .init(provider: "a", model: "up-a")])
    }

    @Test("counts tokens with the first deployment's encoding", .timeLimit(.minutes(1)))
    func countTokens() async throws {
        // Given models served by a cl100k_base model and by another one
        let service = LocalInferenceService.testing(
            providers: [ScriptedProvider(name: "a", always: .text("x"))],
            models: [.model("exact", [("a", "gpt-4")]), .model("rough", [("a", "claude-3-haiku")])]
        )
        let prompt = TokenCountRequest.Input.prompt(
            messages: [ChatMessage(role: .user, text: "hello world")],
            tools: []
        )
        let tool = ToolDefinition(name: "lookup", description: "finds things", parametersJSON: nil)

        // When tokens are counted for each, with a tool, as plain text, and for an unknown model
        let exact = try await service.countTokens(TokenCountRequest(model: "exact", input: prompt))
        let rough = try await service.countTokens(TokenCountRequest(model: "rough", input: prompt))
        let withTool = try await service.countTokens(
            TokenCountRequest(
                model: "exact",
                input: .prompt(messages: [ChatMessage(role: .user, text: "hello world")], tools: [tool])
            )
        )
        let text = try await service.countTokens(TokenCountRequest(model: "exact", input: .text("hello world")))
        let unknown = await Self.code { try await service.countTokens(TokenCountRequest(model: "nope", input: prompt)) }

        // Then the exact counter is used where it applies, a tool's definition counts towards the prompt, plain text
        // is counted with no chat overhead, and unknown models are rejected
        #expect(exact == TokenCountResult(tokens: 8, isEstimated: false, encoding: "cl100k_base"))
        #expect(withTool.tokens == 8 + 3)  // "lookup", "finds things": three words
        #expect(text == TokenCountResult(tokens: 2, isEstimated: false, encoding: "cl100k_base"))
        #expect(rough.isEstimated)
        #expect(rough.encoding == "estimate")
        #expect(unknown == .modelNotFound)
    }

    // MARK: - Retries

    @Test(
        "retries rate limits, unavailable upstreams and transport errors on the same deployment",
        .timeLimit(.minutes(1)),
        arguments: [
            ScriptedProvider.Step.fail(InferenceError(.upstreamRateLimited, "429")),
            .fail(InferenceError(.upstreamUnavailable, "503")),
            .fail(SocketError()),
        ]
    )
    func retriesRetryableErrors(failure: ScriptedProvider.Step) async throws {
        // Given a deployment that fails once, then answers, with three attempts
        let primary = ScriptedProvider(name: "a", steps: [failure, .text("second time lucky")])
        let fallback = ScriptedProvider(name: "b", always: .text("fallback"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            configurations: [.scripted("a", maxAttempts: 3)],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let response = try await service.chat(Self.request())

        // Then the same deployment answers on its second attempt
        #expect(response.message.text == "second time lucky")
        #expect(response.servedBy == ServedBy(provider: "a", model: "up-a", attempt: 2))
        #expect(primary.callCount == 2)
        #expect(fallback.callCount == 0)
    }

    @Test("honours Retry-After before retrying", .timeLimit(.minutes(1)))
    func honoursRetryAfter() async throws {
        // Given a deployment that answers 429 with Retry-After: 1 s, then succeeds; computed delays are 1 ms
        let provider = ScriptedProvider(
            name: "a",
            steps: [.fail(Self.error(.upstreamRateLimited, retryAfter: .seconds(1))), .text("ok")]
        )
        let service = LocalInferenceService.testing(
            providers: [provider],
            configurations: [.scripted("a", maxAttempts: 2, baseDelayMs: 1)],
            models: [.model("m", [("a", "up")])]
        )
        let clock = ContinuousClock()

        // When the model is called
        let start = clock.now
        let response = try await service.chat(Self.request())

        // Then the retry waited for the upstream's Retry-After
        #expect(clock.now - start >= .milliseconds(900))
        #expect(response.servedBy.attempt == 2)
        #expect(provider.callCount == 2)
    }

    @Test("does not wait for a Retry-After longer than the cap", .timeLimit(.minutes(1)))
    func retryAfterBeyondCap() async throws {
        // Given a deployment that asks to wait 30 s, when at most 1 s is worth it
        let provider = ScriptedProvider(
            name: "a",
            always: .fail(Self.error(.upstreamRateLimited, retryAfter: .seconds(30)))
        )
        let service = LocalInferenceService.testing(
            providers: [provider],
            configurations: [.scripted("a", maxAttempts: 3, maxRetryAfterMs: 1_000)],
            models: [.model("m", [("a", "up")])]
        )

        // When the model is called
        var thrown: InferenceError?
        do {
            _ = try await service.chat(Self.request())
        } catch let error as InferenceError {
            thrown = error
        }

        // Then it gives up at once and passes the upstream's Retry-After on
        #expect(thrown?.code == .upstreamRateLimited)
        #expect(thrown?.retryAfter == .seconds(30))
        #expect(provider.callCount == 1)
    }

    @Test("falls back once a deployment's attempts are spent", .timeLimit(.minutes(1)))
    func fallsBackAfterRetries() async throws {
        // Given a primary that is always unavailable, with two attempts, and a healthy fallback
        let primary = ScriptedProvider(name: "a", always: .fail(Self.error(.upstreamUnavailable)))
        let fallback = ScriptedProvider(name: "b", always: .text("fallback"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            configurations: [.scripted("a", maxAttempts: 2)],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let response = try await service.chat(Self.request())

        // Then the fallback answers on the third attempt overall
        #expect(response.message.text == "fallback")
        #expect(response.servedBy == ServedBy(provider: "b", model: "up-b", attempt: 3))
        #expect(primary.callCount == 2)
        #expect(fallback.callCount == 1)
    }

    @Test(
        "falls back without retrying timeouts and rejections",
        .timeLimit(.minutes(1)),
        arguments: [InferenceError.Code.upstreamTimeout, .upstreamRejected]
    )
    func fallsBackWithoutRetry(code: InferenceError.Code) async throws {
        // Given a primary with three attempts that fails with a non-retryable upstream error
        let primary = ScriptedProvider(name: "a", always: .fail(Self.error(code)))
        let fallback = ScriptedProvider(name: "b", always: .text("fallback"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            configurations: [.scripted("a", maxAttempts: 3)],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let response = try await service.chat(Self.request())

        // Then the primary is tried once and the fallback answers
        #expect(primary.callCount == 1)
        #expect(response.servedBy.provider == "b")
    }

    @Test("neither retries nor falls back for an invalid request", .timeLimit(.minutes(1)))
    func invalidRequestStops() async throws {
        // Given a primary that rejects the request itself, with three attempts, and a fallback
        let primary = ScriptedProvider(name: "a", always: .fail(Self.error(.invalidRequest)))
        let fallback = ScriptedProvider(name: "b", always: .text("fallback"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            configurations: [.scripted("a", maxAttempts: 3)],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let code = await Self.code { try await service.chat(Self.request()) }

        // Then the error reaches the caller after one call
        #expect(code == .invalidRequest)
        #expect(primary.callCount == 1)
        #expect(fallback.callCount == 0)
    }

    @Test("reports the last deployment's error when every deployment fails", .timeLimit(.minutes(1)))
    func allDeploymentsFail() async throws {
        // Given two failing deployments
        let service = LocalInferenceService.testing(
            providers: [
                ScriptedProvider(name: "a", always: .fail(Self.error(.upstreamUnavailable))),
                ScriptedProvider(name: "b", always: .fail(Self.error(.upstreamTimeout))),
            ],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called
        let code = await Self.code { try await service.chat(Self.request()) }

        // Then the caller sees the last failure
        #expect(code == .upstreamTimeout)
    }

    // MARK: - Circuit breaker

    @Test("skips a deployment whose breaker opened after failure_threshold failures", .timeLimit(.minutes(1)))
    func breakerSkipsDeployment() async throws {
        // Given a primary that always fails, with a breaker threshold of 2, and a fallback
        let primary = ScriptedProvider(name: "a", always: .fail(Self.error(.upstreamUnavailable)))
        let fallback = ScriptedProvider(name: "b", always: .text("fallback"))
        let service = LocalInferenceService.testing(
            providers: [primary, fallback],
            configurations: [.scripted("a", maxAttempts: 1, failureThreshold: 2)],
            models: [.model("m", [("a", "up-a"), ("b", "up-b")])]
        )

        // When the model is called four times
        var servedBy: [ServedBy] = []
        for _ in 0..<4 { servedBy.append(try await service.chat(Self.request()).servedBy) }

        // Then the primary is tried only until its breaker opens
        #expect(primary.callCount == 2)
        #expect(fallback.callCount == 4)
        #expect(servedBy.map(\.attempt) == [2, 2, 1, 1])
    }

    @Test("fails fast with circuit_open when every deployment's breaker is open", .timeLimit(.minutes(1)))
    func breakerOpenEverywhere() async throws {
        // Given a single failing deployment with a breaker threshold of 2
        let provider = ScriptedProvider(name: "a", always: .fail(Self.error(.upstreamUnavailable)))
        let service = LocalInferenceService.testing(
            providers: [provider],
            configurations: [.scripted("a", maxAttempts: 1, failureThreshold: 2)],
            models: [.model("m", [("a", "up")])]
        )

        // When it is called three times
        let codes = [
            await Self.code { try await service.chat(Self.request()) },
            await Self.code { try await service.chat(Self.request()) },
            await Self.code { try await service.chat(Self.request()) },
        ]

        // Then the third call is refused without reaching the upstream
        #expect(codes == [.upstreamUnavailable, .upstreamUnavailable, .circuitOpen])
        #expect(provider.callCount == 2)
    }

    @Test("does not count invalid requests against the breaker", .timeLimit(.minutes(1)))
    func invalidRequestsKeepBreakerClosed() async throws {
        // Given a deployment with a breaker threshold of 1 that first rejects two requests as invalid
        let provider = ScriptedProvider(
            name: "a",
            steps: [.fail(Self.error(.invalidRequest)), .fail(Self.error(.invalidRequest)), .text("ok")]
        )
        let service = LocalInferenceService.testing(
            providers: [provider],
            configurations: [.scripted("a", maxAttempts: 1, failureThreshold: 1)],
            models: [.model("m", [("a", "up")])]
        )

        // When it is called three times
        _ = await Self.code { try await service.chat(Self.request()) }
        _ = await Self.code { try await service.chat(Self.request()) }
        let response = try await service.chat(Self.request())

        // Then the third call still reaches the deployment
        #expect(response.message.text == "ok")
        #expect(provider.callCount == 3)
    }

    // MARK: - Usage

    @Test("passes the upstream's usage through", .timeLimit(.minutes(1)))
    func reportedUsage() async throws {
        // Given a provider that reports usage
        let usage = Usage(promptTokens: 11, completionTokens: 7, isEstimated: false)
        let service = LocalInferenceService.testing(
            providers: [ScriptedProvider(name: "a", always: .text("one two", usage: usage))],
            models: [.model("m", [("a", "gpt-4")])]
        )

        // When the model is called
        let response = try await service.chat(Self.request())

        // Then the usage is the upstream's, not flagged as estimated
        #expect(response.usage == usage)
    }

    @Test("estimates usage when the upstream reports none", .timeLimit(.minutes(1)))
    func estimatedUsage() async throws {
        // Given a provider that answers "four five" without usage, on a model with an exact tokenizer
        let service = LocalInferenceService.testing(
            providers: [ScriptedProvider(name: "a", always: .text("four five"))],
            models: [.model("m", [("a", "gpt-4")])]
        )
        let request = Self.request("m", "one two three")

        // When the model is called
        let response = try await service.chat(request)

        // Then Sluice counts prompt and completion itself and flags the usage as estimated
        let prompt = PromptTokenCounter.words.countPrompt(request.messages, upstreamModel: "gpt-4").tokens
        #expect(response.usage == Usage(promptTokens: prompt, completionTokens: 2, isEstimated: true))
    }
}
