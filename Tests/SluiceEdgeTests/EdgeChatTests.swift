import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceInference
import SluiceTesting
import Testing

@Suite("Edge chat completions")
struct EdgeChatTests {
    @Test("answers a chat with an OpenAI chat.completion object", .timeLimit(.minutes(1)))
    func nonStreamShape() async throws {
        // Given the edge and a valid key
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When echo is asked a question
            let response = try await client.postChat(
                HTTP.chat(text: "hello big world"),
                headers: HTTP.headers(key: key)
            )

            // Then the answer has OpenAI's shape, with exact usage
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let body = try HTTP.object(response)
            #expect(body["object"] as? String == "chat.completion")
            #expect((body["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(body["created"] is Int)
            #expect(body["model"] as? String == "echo")
            let choices = try #require(body["choices"] as? [[String: Any]])
            #expect(choices.count == 1)
            #expect(choices[0]["index"] as? Int == 0)
            #expect(choices[0]["finish_reason"] as? String == "stop")
            let message = try #require(choices[0]["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "hello big world")
            #expect(message["tool_calls"] == nil)
            let usage = try #require(body["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            #expect(prompt > 0)
            #expect(usage["completion_tokens"] as? Int == 3)
            #expect(usage["total_tokens"] as? Int == prompt + 3)
            #expect(usage["estimated"] as? Bool == false)
        }
    }

    @Test("flags usage the upstream did not report as estimated", .timeLimit(.minutes(1)))
    func estimatedUsage() async throws {
        // Given a provider that answers without usage
        let provider = ScriptedProvider(name: "a", always: .text("four five"))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "gpt-4")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When it is called
            let response = try await client.postChat(HTTP.chat(model: "m"), headers: HTTP.headers(key: key))

            // Then the usage is counted locally and flagged
            let usage = try #require((try HTTP.object(response))["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 2)
            #expect(usage["estimated"] as? Bool == true)
        }
    }

    @Test("answers a forced tool call with tool_calls and null content", .timeLimit(.minutes(1)))
    func toolCallShape() async throws {
        // Given the edge and a request that forces a tool
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        let body = HTTP.chat(
            text: "Paris",
            [
                "tools": [
                    ["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]
                ],
                "tool_choice": "required",
            ]
        )

        try await harness.makeApplication().test(.router) { client in
            // When echo answers
            let response = try await client.postChat(body, headers: HTTP.headers(key: key))

            // Then the message carries the call in OpenAI's shape
            let choice = try #require(((try HTTP.object(response))["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["content"] is NSNull)
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            #expect(call["type"] as? String == "function")
            #expect((call["id"] as? String)?.isEmpty == false)
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            #expect(function["arguments"] as? String == #"{"input":"Paris"}"#)
        }
    }

    // MARK: - Headers

    @Test(
        "sets X-Request-Id, X-Sluice-Provider, X-Sluice-Model and X-Sluice-Overhead-Ms",
        .timeLimit(.minutes(1)),
        arguments: [false, true]
    )
    func sluiceHeaders(stream: Bool) async throws {
        // Given model m served by a fake provider under the upstream name up-a
        let provider = ScriptedProvider(name: "a", always: .text("hi"))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.live) { client in
            // When it is called without a request id
            let response = try await client.postChat(
                HTTP.chat(model: "m", stream: stream),
                headers: HTTP.headers(key: key)
            )

            // Then the response names the request, the provider, the upstream model and Sluice's overhead
            #expect(response.status == .ok)
            let requestID = try #require(response.headers[EdgeHeaders.requestID])
            #expect(!requestID.isEmpty)
            #expect(response.headers[EdgeHeaders.provider] == "a")
            #expect(response.headers[EdgeHeaders.model] == "up-a")
            let overhead = try #require(response.headers[EdgeHeaders.overhead].flatMap(Double.init))
            #expect(overhead >= 0 && overhead < 60_000)
        }
    }

    @Test(
        "echoes a well-formed X-Request-Id, on answers and on errors",
        .timeLimit(.minutes(1)),
        arguments: ["client-req-42", "a", String(repeating: "r", count: 128), "id:with/visible~chars"]
    )
    func echoesRequestID(requestID: String) async throws {
        // Given the edge
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.live) { client in
            // When a chat, a stream, an error and a model listing carry the id
            let headers = HTTP.headers(key: key, [EdgeHeaders.requestID: requestID])
            let ok = try await client.postChat(HTTP.chat(), headers: headers)
            let stream = try await client.postChat(HTTP.chat(stream: true), headers: headers)
            let notFound = try await client.postChat(HTTP.chat(model: "nope"), headers: headers)
            let models = try await client.execute(uri: "/v1/models", method: .get, headers: headers)

            // Then every response carries it back
            #expect(ok.headers[EdgeHeaders.requestID] == requestID)
            #expect(stream.headers[EdgeHeaders.requestID] == requestID)
            #expect(notFound.status == .notFound)
            #expect(notFound.headers[EdgeHeaders.requestID] == requestID)
            #expect(models.headers[EdgeHeaders.requestID] == requestID)
        }
    }

    @Test(
        "replaces a malformed X-Request-Id with a new one",
        .timeLimit(.minutes(1)),
        arguments: [String(repeating: "r", count: 129), "has space", "tab\there", "ünïcödé"]
    )
    func replacesMalformedRequestID(requestID: String) async throws {
        // Given the edge
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.live) { client in
            // When a request carries a malformed id
            let response = try await client.postChat(
                HTTP.chat(),
                headers: HTTP.headers(key: key, [EdgeHeaders.requestID: requestID])
            )

            // Then the response carries a fresh id instead
            let echoed = try #require(response.headers[EdgeHeaders.requestID])
            #expect(echoed != requestID)
            #expect(!echoed.isEmpty)
        }
    }

    @Test("gives every request its own id", .timeLimit(.minutes(1)))
    func uniqueRequestIDs() async throws {
        // Given the edge
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When five requests are sent without ids
            var ids: Set<String> = []
            for _ in 0..<5 {
                let response = try await client.postChat(HTTP.chat(), headers: HTTP.headers(key: key))
                ids.insert(response.headers[EdgeHeaders.requestID] ?? "")
            }

            // Then they got five different ids
            #expect(ids.count == 5)
            #expect(!ids.contains(""))
        }
    }
}
