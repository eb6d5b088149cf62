import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceGovernance
import SluiceInference
import SluiceTesting
import Testing

@Suite("Edge usage ledger")
struct EdgeUsageLedgerTests {
    @Test("records the usage of an answered chat with its request id", .timeLimit(.minutes(1)))
    func recordsChat() async throws {
        // Given a model served by a provider that reports usage
        let usage = Usage(promptTokens: 12, completionTokens: 5, isEstimated: false)
        let provider = ScriptedProvider(name: "a", always: .text("five words of an answer", usage: usage))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let created = try await harness.governance.createKey(KeyCreationRequest(tenant: "acme"))

        // When a chat is answered while the recorder runs
        let requestID = try await harness.withUsageRecorder {
            try await harness.makeApplication().test(.router) { client in
                let response = try await client.postChat(
                    HTTP.chat(model: "m"),
                    headers: HTTP.headers(key: created.plaintext)
                )
                #expect(response.status == .ok)
                return response.headers[EdgeHeaders.requestID]
            }
        }

        // Then one ledger row describes it
        let ledger = try await harness.store.ledger()
        let entry = try #require(ledger.first)
        #expect(ledger.count == 1)
        #expect(entry.requestID == requestID)
        #expect(entry.tenantID == created.info.tenantID)
        #expect(entry.keyID == created.info.id)
        #expect(entry.model == "m")
        #expect(entry.provider == "a")
        #expect(entry.upstreamModel == "up-a")
        #expect(entry.promptTokens == 12)
        #expect(entry.completionTokens == 5)
        #expect(!entry.isEstimated)
        #expect(entry.latencyMilliseconds >= 0)
        #expect(entry.outcome == "ok")
    }

    @Test("records the usage of a finished stream, estimated when the upstream sent none", .timeLimit(.minutes(1)))
    func recordsStream() async throws {
        // Given a provider that streams without usage
        let provider = ScriptedProvider(name: "a", always: .streamText(["four", " five"]))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "gpt-4")])])
        let key = try await harness.createKey()

        // When the stream is read to its end while the recorder runs
        try await harness.withUsageRecorder {
            try await harness.makeApplication().test(.live) { client in
                let response = try await client.postChat(
                    HTTP.chat(model: "m", stream: true),
                    headers: HTTP.headers(key: key)
                )
                #expect(ServerSentEvents.data(in: String(buffer: response.body)).last == "[DONE]")
            }
        }

        // Then the ledger has the estimated usage
        let ledger = try await harness.store.ledger()
        #expect(ledger.count == 1)
        #expect(ledger.first?.completionTokens == 2)
        #expect(ledger.first?.isEstimated == true)
        #expect(ledger.first?.outcome == "ok")
    }

    @Test("records failed and interrupted calls with their error code", .timeLimit(.minutes(1)))
    func recordsFailures() async throws {
        // Given a model that is rate limited and one whose stream breaks
        let limited = ScriptedProvider(name: "a", always: .fail(InferenceError(.upstreamRateLimited, "429")))
        let broken = ScriptedProvider(
            name: "b",
            always: .stream(
                [.delta(ChatDelta(content: "one"))],
                thenThrow: InferenceError(.upstreamUnavailable, "reset")
            )
        )
        let harness = try EdgeHarness(
            providers: [limited, broken],
            models: [.model("limited", [("a", "up-a")]), .model("broken", [("b", "up-b")])]
        )
        let key = try await harness.createKey()

        // When both are called while the recorder runs
        try await harness.withUsageRecorder {
            try await harness.makeApplication().test(.live) { client in
                let first = try await client.postChat(HTTP.chat(model: "limited"), headers: HTTP.headers(key: key))
                #expect(first.status == .tooManyRequests)
                let second = try await client.postChat(
                    HTTP.chat(model: "broken", stream: true),
                    headers: HTTP.headers(key: key)
                )
                #expect(second.status == .ok)
            }
        }

        // Then each has a ledger row with its outcome
        let ledger = try await harness.store.ledger()
        #expect(ledger.map(\.model) == ["limited", "broken"])
        #expect(ledger.map(\.outcome) == ["upstream_rate_limited", "upstream_error"])
        #expect(ledger.first?.provider == "")
        #expect(ledger.last?.provider == "b")
    }

    @Test("records nothing for requests that fail authentication or validation", .timeLimit(.minutes(1)))
    func recordsNothingForRejectedRequests() async throws {
        // Given the edge
        let harness = try EdgeHarness()
        let key = try await harness.createKey(models: ["m"])

        // When requests are refused before reaching a model
        try await harness.withUsageRecorder {
            try await harness.makeApplication().test(.router) { client in
                let bodies = [
                    (HTTP.headers(key: "sk-sluice-wrong"), HTTP.chat()),
                    (HTTP.headers(key: key), HTTP.chat(["temperature": 3])),
                    (HTTP.headers(key: key), HTTP.chat()),
                ]
                for (headers, body) in bodies {
                    let response = try await client.postChat(body, headers: headers)
                    #expect(response.status != .ok)
                }
            }
        }

        // Then the ledger stays empty
        #expect(try await harness.store.ledger().isEmpty)
    }
}
