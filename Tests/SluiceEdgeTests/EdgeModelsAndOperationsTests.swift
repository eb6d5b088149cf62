import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceTesting
import Testing

@Suite("Edge models, health and metrics")
struct EdgeModelsAndOperationsTests {
    private static func harness() throws -> EdgeHarness {
        try EdgeHarness(
            providers: [ScriptedProvider(name: "a", always: .text("x"))],
            models: [.model("gpt-4o", [("a", "gpt-4o-2024")]), .model("claude", [("a", "claude-3")])]
        )
    }

    private static func ids(_ response: TestResponse) throws -> [String] {
        let body = try HTTP.object(response)
        #expect(body["object"] as? String == "list")
        let data = try #require(body["data"] as? [[String: Any]])
        #expect(data.allSatisfy { $0["object"] as? String == "model" && $0["owned_by"] is String })
        return data.compactMap { $0["id"] as? String }
    }

    @Test("lists every model to an unrestricted key", .timeLimit(.minutes(1)))
    func listsAllModels() async throws {
        // Given three models and an unrestricted key
        let harness = try Self.harness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When the models are listed
            let response = try await client.execute(uri: "/v1/models", method: .get, headers: HTTP.headers(key: key))

            // Then all are listed, sorted by id
            #expect(response.status == .ok)
            #expect(try Self.ids(response) == ["claude", "echo", "gpt-4o"])
        }
    }

    @Test("lists only the models a restricted key may use", .timeLimit(.minutes(1)))
    func listsAllowedModels() async throws {
        // Given a key allowed echo and claude, and one allowed nothing
        let harness = try Self.harness()
        let restricted = try await harness.createKey(models: ["echo", "claude", "not-configured"])
        let nothing = try await harness.createKey(models: [])

        try await harness.makeApplication().test(.router) { client in
            // When each lists the models
            let some = try await client.execute(uri: "/v1/models", method: .get, headers: HTTP.headers(key: restricted))
            let none = try await client.execute(uri: "/v1/models", method: .get, headers: HTTP.headers(key: nothing))

            // Then each sees only configured models on its list
            #expect(try Self.ids(some) == ["claude", "echo"])
            #expect(try Self.ids(none) == [])
        }
    }

    @Test("answers /health/live always and /health/ready once the server runs", .timeLimit(.minutes(1)))
    func health() async throws {
        // Given the edge
        let harness = try Self.harness()

        // When the health routes are asked before the server runs, and on a running server
        let beforeStart = try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get)
        }
        let (live, ready) = try await harness.makeApplication().test(.live) { client in
            (
                try await client.execute(uri: "/health/live", method: .get),
                try await client.execute(uri: "/health/ready", method: .get)
            )
        }

        // Then liveness is always 200, and readiness only while serving
        #expect(live.status == .ok)
        #expect(String(buffer: live.body) == #"{"status":"ok"}"#)
        #expect(ready.status == .ok)
        #expect(beforeStart.status == .serviceUnavailable)
    }

    @Test("exposes request metrics in Prometheus format", .timeLimit(.minutes(1)))
    func metrics() async throws {
        // Given the edge that has served a chat
        let harness = try Self.harness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            _ = try await client.postChat(HTTP.chat(), headers: HTTP.headers(key: key))

            // When /metrics is scraped
            let response = try await client.execute(uri: "/metrics", method: .get)

            // Then it is Prometheus text with the request counter
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            #expect(text.contains("sluice_http_requests_total"))
            #expect(text.contains(#"status="200""#))
        }
    }
}
