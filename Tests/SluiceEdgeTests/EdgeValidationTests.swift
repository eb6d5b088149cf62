import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceTesting
import Testing

@Suite("Edge request validation")
struct EdgeValidationTests {
    /// A user message.
    private static var user: [String: Any] { ["role": "user", "content": "hi"] }

    @Test(
        "answers 400 invalid_json to a body that is not JSON",
        .timeLimit(.minutes(1)),
        arguments: [#"{"model": "echo", "messages": ["#, "not json at all", ""]
    )
    func malformedJSON(body: String) async throws {
        // Given the edge and a valid key
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When a body that does not parse is sent
            let response = try await client.postChat(ByteBuffer(string: body), headers: HTTP.headers(key: key))

            // Then it is a 400 invalid_json without param
            try HTTP.expectError(response, status: .badRequest, type: "invalid_request_error", code: "invalid_json")
        }
    }

    /// An invalid request body and the parameter the 400 must name.
    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var label: String
        var body: ByteBuffer
        var param: String
        var testDescription: String { label }

        init(_ label: String, _ body: [String: Any], param: String) {
            self.label = label
            self.body = HTTP.json(body)
            self.param = param
        }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase("temperature 3", ["model": "echo", "messages": [user], "temperature": 3], param: "temperature"),
        InvalidCase(
            "temperature as text",
            ["model": "echo", "messages": [user], "temperature": "hot"],
            param: "temperature"
        ),
        InvalidCase("top_p 1.5", ["model": "echo", "messages": [user], "top_p": 1.5], param: "top_p"),
        InvalidCase("n = 2", ["model": "echo", "messages": [user], "n": 2], param: "n"),
        InvalidCase("max_tokens 0", ["model": "echo", "messages": [user], "max_tokens": 0], param: "max_tokens"),
        InvalidCase(
            "five stop sequences",
            ["model": "echo", "messages": [user], "stop": ["a", "b", "c", "d", "e"]],
            param: "stop"
        ),
        InvalidCase("empty messages", ["model": "echo", "messages": [] as [Any]], param: "messages"),
        InvalidCase("missing model", ["messages": [user]], param: "model"),
        InvalidCase("missing messages", ["model": "echo"], param: "messages"),
        InvalidCase("empty model", ["model": "", "messages": [user]], param: "model"),
        InvalidCase(
            "bad role",
            ["model": "echo", "messages": [user, ["role": "robot", "content": "beep"]]],
            param: "messages[1].role"
        ),
        InvalidCase(
            "tool message without tool_call_id",
            ["model": "echo", "messages": [user, ["role": "tool", "content": "42"]]],
            param: "messages[1].tool_call_id"
        ),
        InvalidCase(
            "user message without content",
            ["model": "echo", "messages": [["role": "user"]]],
            param: "messages[0].content"
        ),
        InvalidCase(
            "tool_choice naming an unknown tool",
            [
                "model": "echo", "messages": [user],
                "tools": [["type": "function", "function": ["name": "get_weather"]]],
                "tool_choice": ["type": "function", "function": ["name": "get_time"]],
            ],
            param: "tool_choice"
        ),
        InvalidCase(
            "tool_choice required without tools",
            ["model": "echo", "messages": [user], "tool_choice": "required"],
            param: "tool_choice"
        ),
        InvalidCase(
            "tool with an invalid name",
            [
                "model": "echo", "messages": [user],
                "tools": [["type": "function", "function": ["name": "get weather"]]],
            ],
            param: "tools[0].function.name"
        ),
    ]

    @Test("answers 400 invalid_parameter naming the parameter", .timeLimit(.minutes(1)), arguments: invalidCases)
    func invalidParameter(invalid: InvalidCase) async throws {
        // Given the edge, a valid key and a fake upstream that must not be called
        let provider = ScriptedProvider(name: "a", always: .text("x"))
        let harness = try EdgeHarness(providers: [provider], models: [.model("m", [("a", "up-a")])])
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When an invalid request is sent
            let response = try await client.postChat(invalid.body, headers: HTTP.headers(key: key))

            // Then it is a 400 naming the parameter
            try HTTP.expectError(
                response,
                status: .badRequest,
                type: "invalid_request_error",
                code: "invalid_parameter",
                param: invalid.param
            )
        }
        #expect(provider.callCount == 0)
    }

    @Test("answers 413 request_too_large to a body over max_body_bytes", .timeLimit(.minutes(1)))
    func bodyTooLarge() async throws {
        // Given the edge with a 4 KiB limit
        let harness = try EdgeHarness(maxBodyBytes: 4_096)
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When a body just under and one just over the limit are sent
            let under = try await client.postChat(
                HTTP.chat(text: String(repeating: "x", count: 3_900)),
                headers: HTTP.headers(key: key)
            )
            let over = try await client.postChat(
                HTTP.chat(text: String(repeating: "x", count: 4_200)),
                headers: HTTP.headers(key: key)
            )

            // Then only the larger one is refused
            #expect(under.status == .ok)
            try HTTP.expectError(
                over,
                status: .contentTooLarge,
                type: "invalid_request_error",
                code: "request_too_large"
            )
        }
    }

    @Test(
        "answers 404 model_not_found for an unknown model, streamed or not",
        .timeLimit(.minutes(1)),
        arguments: [false, true]
    )
    func unknownModel(stream: Bool) async throws {
        // Given the edge
        let harness = try EdgeHarness()
        let key = try await harness.createKey()

        try await harness.makeApplication().test(.router) { client in
            // When an unknown model is asked for
            let response = try await client.postChat(
                HTTP.chat(model: "no-such-model", stream: stream),
                headers: HTTP.headers(key: key)
            )

            // Then it is a 404 naming the model parameter
            try HTTP.expectError(
                response,
                status: .notFound,
                type: "invalid_request_error",
                code: "model_not_found",
                param: "model"
            )
        }
    }

    @Test("answers an unknown route with a 404 OpenAI error object", .timeLimit(.minutes(1)))
    func unknownRoute() async throws {
        // Given the edge
        let harness = try EdgeHarness()

        try await harness.makeApplication().test(.router) { client in
            // When an unknown route is requested
            let response = try await client.execute(uri: "/v1/completions/legacy", method: .get)

            // Then it is a 404 in OpenAI's shape
            try HTTP.expectError(response, status: .notFound, type: "invalid_request_error", code: "unknown_url")
        }
    }
}
