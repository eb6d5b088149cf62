import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceInference
import SluiceTesting
import Testing

@Suite("Edge upstream errors")
struct EdgeUpstreamErrorTests {
    /// An inference error and the response the edge must turn it into.
    struct Mapping: Sendable, CustomTestStringConvertible {
        var code: InferenceError.Code
        var status: HTTPResponse.Status
        var type: String
        var openAICode: String
        var testDescription: String { "\(code) → \(status.code)" }
    }

    static let mappings: [Mapping] = [
        Mapping(code: .upstreamUnavailable, status: .badGateway, type: "upstream_error", openAICode: "upstream_error"),
        Mapping(code: .upstreamRejected, status: .badGateway, type: "upstream_error", openAICode: "upstream_error"),
        Mapping(code: .upstreamUnauthorized, status: .badGateway, type: "upstream_error", openAICode: "upstream_error"),
        Mapping(code: .upstreamForbidden, status: .badGateway, type: "upstream_error", openAICode: "upstream_error"),
        Mapping(
            code: .upstreamTimeout,
            status: .gatewayTimeout,
            type: "upstream_error",
            openAICode: "upstream_timeout"
        ),
        Mapping(
            code: .circuitOpen,
            status: .serviceUnavailable,
            type: "upstream_error",
            openAICode: "upstream_unavailable"
        ),
        Mapping(
            code: .invalidRequest,
            status: .badRequest,
            type: "invalid_request_error",
            openAICode: "invalid_parameter"
        ),
    ]

    @Test(
        "maps each upstream failure to its status and error object",
        .timeLimit(.minutes(1)),
        arguments: mappings,
        [false, true]
    )
    func mapsUpstreamErrors(mapping: Mapping, stream: Bool) async throws {
        // Given a model whose only deployment fails before answering
        let provider = ScriptedProvider(name: "a", always: .fail(InferenceError(mapping.code, "scripted failure")))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When it is called, streamed or not
            let response = try await client.postChat(
                HTTP.chat(model: "m", stream: stream),
                headers: HTTP.headers(key: key)
            )

            // Then the failure is an HTTP error, not a stream, with the mapped status, type and code
            try HTTP.expectError(response, status: mapping.status, type: mapping.type, code: mapping.openAICode)
        }
    }

    @Test(
        "answers 429 with Retry-After in whole seconds, rounded up",
        .timeLimit(.minutes(1)),
        arguments: [(Duration.seconds(2), "2"), (.milliseconds(1_500), "2"), (.milliseconds(200), "1"), (nil, "1")]
            as [(Duration?, String)]
    )
    func rateLimited(retryAfter: Duration?, header: String) async throws {
        // Given a deployment that answers 429, with no retries
        let provider = ScriptedProvider(
            name: "a",
            always: .fail(InferenceError(.upstreamRateLimited, "slow down", retryAfter: retryAfter))
        )
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When it is called
            let response = try await client.postChat(HTTP.chat(model: "m"), headers: HTTP.headers(key: key))

            // Then the client is told to wait
            try HTTP.expectError(
                response,
                status: .tooManyRequests,
                type: "rate_limit_error",
                code: "upstream_rate_limited"
            )
            #expect(response.headers[.retryAfter] == header)
        }
    }

    @Test("answers 503 once the circuit breaker has opened", .timeLimit(.minutes(1)))
    func circuitBreakerOpens() async throws {
        // Given a failing deployment whose breaker opens after 2 failures
        let provider = ScriptedProvider(name: "a", always: .fail(InferenceError(.upstreamUnavailable, "down")))
        let harness = try EdgeHarness(
            providers: [provider],
            configurations: [.scripted("a", maxAttempts: 1, failureThreshold: 2)],
            models: [.model("m", [("a", "up-a")])]
        )
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When it is called three times
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<3 {
                let response = try await client.postChat(HTTP.chat(model: "m"), headers: HTTP.headers(key: key))
                statuses.append(response.status)
            }

            // Then the third call fails fast without reaching the upstream
            #expect(statuses == [.badGateway, .badGateway, .serviceUnavailable])
        }
        #expect(provider.callCount == 2)
    }

    @Test("serves from the fallback deployment and says so in the headers", .timeLimit(.minutes(1)))
    func fallbackHeaders() async throws {
        // Given a model whose primary is down and whose fallback is echo
        let provider = ScriptedProvider(name: "a", always: .fail(InferenceError(.upstreamUnavailable, "down")))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a"), ("echo", "echo")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.live) { client in
            // When it is called
            let response = try await client.postChat(
                HTTP.chat(model: "m", text: "fallback works"),
                headers: HTTP.headers(key: key)
            )

            // Then echo answers, and the headers name it
            #expect(response.status == .ok)
            #expect(response.headers[EdgeHeaders.provider] == "echo")
            #expect(response.headers[EdgeHeaders.model] == "echo")
            let message = try #require(
                ((try HTTP.object(response))["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            )
            #expect(message["content"] as? String == "fallback works")
        }
        #expect(provider.callCount == 1)
    }
}
