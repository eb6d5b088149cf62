import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceGovernance
import SluiceInference
import SluiceTesting
import Testing

@Suite("Edge authentication")
struct EdgeAuthenticationTests {
    @Test(
        "answers 401 invalid_api_key without a bearer key",
        .timeLimit(.minutes(1)),
        arguments: [nil, "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "sk-sluice-no-scheme"] as [String?]
    )
    func missingKey(authorization: String?) async throws {
        // Given the edge
        let harness = try EdgeHarness()
        var fields: HTTPFields = [.contentType: "application/json"]
        if let authorization { fields[.authorization] = authorization }

        // When a chat and a model listing are sent without a usable key, then both are 401
        _ = try await Self.expectBothUnauthorized(harness, headers: fields)
    }

    @Test("answers 401 invalid_api_key to two Authorization headers, even when both are valid", .timeLimit(.minutes(1)))
    func repeatedAuthorization() async throws {
        // Given the edge and a valid key
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(HTTPField(name: .authorization, value: "Bearer \(key)"))
        fields.append(HTTPField(name: .authorization, value: "Bearer \(key)"))

        // When a chat and a model listing carry the key twice, then both are refused, not answered with either
        let chatBody = try await Self.expectBothUnauthorized(harness, headers: fields)
        #expect(chatBody.contains("one Authorization header"))
    }

    /// Sends a chat and a model listing with `headers`, expects both to be 401 `invalid_api_key` OpenAI errors, and
    /// returns the chat's body.
    private static func expectBothUnauthorized(_ harness: EdgeHarness, headers: HTTPFields) async throws -> String {
        try await harness.makeApplication().test(.router) { client in
            let chat = try await client.postChat(HTTP.chat(), headers: headers)
            let models = try await client.execute(uri: "/v1/models", method: .get, headers: headers)
            try HTTP.expectError(chat, status: .unauthorized, type: "invalid_request_error", code: "invalid_api_key")
            try HTTP.expectError(models, status: .unauthorized, type: "invalid_request_error", code: "invalid_api_key")
            return String(buffer: chat.body)
        }
    }

    @Test(
        "answers 401 for malformed and unknown keys",
        .timeLimit(.minutes(1)),
        arguments: [
            "garbage", "sk-sluice-not-a-real-key", "sk-sluice-0123456789abcdef-\(String(repeating: "0", count: 48))",
        ]
    )
    func badKey(key: String) async throws {
        // Given the edge with one valid key
        let harness = try EdgeHarness()
        _ = try await harness.createKey()

        // When another key is presented, then a chat and a model listing are both 401
        _ = try await Self.expectBothUnauthorized(harness, headers: HTTP.headers(key: key))
    }

    @Test("answers 401 for a wrong secret and for a revoked key", .timeLimit(.minutes(1)))
    func wrongAndRevokedKey() async throws {
        // Given a valid key, the same key with another secret, and a revoked key
        let harness = try EdgeHarness()
        let valid = try await harness.createKey()
        let wrong = String(valid.dropLast(4)) + (valid.hasSuffix("0000") ? "1111" : "0000")
        let revoked = try await harness.governance.createKey(KeyCreationRequest(tenant: "acme"))
        try await harness.governance.revokeKey(id: revoked.info.id)

        try await harness.makeApplication().test(.router) { client in
            // When each is used
            let ok = try await client.postChat(HTTP.chat(), headers: HTTP.headers(key: valid))
            let wrongResponse = try await client.postChat(HTTP.chat(), headers: HTTP.headers(key: wrong))
            let revokedResponse = try await client.postChat(HTTP.chat(), headers: HTTP.headers(key: revoked.plaintext))

            // Then only the valid key gets through
            #expect(ok.status == .ok)
            try HTTP.expectError(
                wrongResponse,
                status: .unauthorized,
                type: "invalid_request_error",
                code: "invalid_api_key"
            )
            try HTTP.expectError(
                revokedResponse,
                status: .unauthorized,
                type: "invalid_request_error",
                code: "invalid_api_key"
            )
        }
    }

    @Test(
        "accepts the Bearer scheme in any letter case",
        .timeLimit(.minutes(1)),
        arguments: ["Bearer", "bearer", "BEARER"]
    )
    func bearerSchemeCase(scheme: String) async throws {
        // Given a valid key
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When it is sent with the scheme spelled differently
            let response = try await client.postChat(
                HTTP.chat(),
                headers: [.authorization: "\(scheme) \(key)", .contentType: "application/json"]
            )

            // Then it is accepted
            #expect(response.status == .ok)
        }
    }

    @Test(
        "answers 401, not 400 or 404, to a bad key whatever the body",
        .timeLimit(.minutes(1)),
        arguments: [
            HTTP.json(["model": "echo"]),
            ByteBuffer(string: #"{"model": "echo", "messages": ["#),
            ByteBuffer(string: "not json"),
            HTTP.chat(["temperature": 3]),
            HTTP.chat(model: "no-such-model"),
        ]
    )
    func badKeyWinsOverBadBody(body: ByteBuffer) async throws {
        // Given the edge
        let harness = try EdgeHarness()

        try await harness.makeApplication().test(.router) { client in
            // When a wrong key sends a malformed or invalid request
            let response = try await client.postChat(body, headers: HTTP.headers(key: "sk-sluice-wrong"))

            // Then authentication fails first, revealing nothing about the request
            try HTTP.expectError(
                response,
                status: .unauthorized,
                type: "invalid_request_error",
                code: "invalid_api_key"
            )
        }
    }

    @Test("answers 403 model_not_allowed without calling the upstream", .timeLimit(.minutes(1)))
    func modelNotAllowed() async throws {
        // Given a key allowed only echo, and a model m served by a fake provider
        let provider = ScriptedProvider(name: "a", always: .text("secret answer"))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let key = try await harness.createKey(models: ["echo"])

        try await harness.makeApplication().test(.router) { client in
            // When it asks for m, streamed and not
            for stream in [false, true] {
                let response = try await client.postChat(
                    HTTP.chat(model: "m", stream: stream),
                    headers: HTTP.headers(key: key)
                )

                // Then it is refused, naming the model parameter
                try HTTP.expectError(
                    response,
                    status: .forbidden,
                    type: "permission_error",
                    code: "model_not_allowed",
                    param: "model"
                )
            }
        }
        #expect(provider.callCount == 0)
    }

    @Test("lets an admin key override the route, and refuses it to others", .timeLimit(.minutes(1)))
    func routeOverride() async throws {
        // Given model m served by a, another provider b, an admin key and a member key
        let a = ScriptedProvider(name: "a", always: .text("from a"))
        let b = ScriptedProvider(name: "b", always: .text("from b"))
        let harness = try EdgeHarness(providers: [a, b], models: [.model("m", [("a", "up-a")])])
        let admin = try await harness.createKey(tenant: "admin", roles: [.admin])
        let member = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When each sends X-Sluice-Route: b/custom, and the admin a malformed route
            let route = EdgeHeaders.route
            let routed = try await client.postChat(
                HTTP.chat(model: "m"),
                headers: HTTP.headers(key: admin, [route: "b/custom"])
            )
            let refused = try await client.postChat(
                HTTP.chat(model: "m"),
                headers: HTTP.headers(key: member, [route: "b/custom"])
            )
            let malformed = try await client.postChat(
                HTTP.chat(model: "m"),
                headers: HTTP.headers(key: admin, [route: "just-a-provider"])
            )

            // Then the admin's call goes to b, the member is refused, and the malformed route is a 400
            #expect(routed.status == .ok)
            #expect(routed.headers[EdgeHeaders.provider] == "b")
            #expect(routed.headers[EdgeHeaders.model] == "custom")
            try HTTP.expectError(refused, status: .forbidden, type: "permission_error", code: "route_not_allowed")
            try HTTP.expectError(
                malformed,
                status: .badRequest,
                type: "invalid_request_error",
                code: "invalid_parameter",
                param: "X-Sluice-Route"
            )
        }
        #expect(a.callCount == 0)
        #expect(b.calls.map(\.upstreamModel) == ["custom"])
    }
}
