import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceGovernance
import SluiceInference
import SluiceTesting
import Synchronization
import Testing

/// The pipeline on its own, through a route that exists only here: a new route gets every step by being registered.
@Suite("Request pipeline")
struct RequestPipelineTests {
    /// `POST /test/probe` with a body `model|mode|text`: `complete` answers the text upper-cased; `stream` sends each
    /// word as an event; `stream-fail` sends the first word and fails; `fail` fails before answering. One token per
    /// word, in and out.
    struct ProbeRoute: EdgeRoute {
        static let method = HTTPRequest.Method.post
        static let path = "/test/probe"
        static let operation = AuthorizationRequest.Operation.chat

        struct Call: Sendable {
            var model: String
            var mode: String
            var text: String
        }

        struct Broken: Error {}

        let calls = Calls()

        final class Calls: Sendable {
            private let count = Mutex(0)
            var made: Int { count.withLock { $0 } }
            func add() { count.withLock { $0 += 1 } }
        }

        func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws -> Call {
            let parts = String(buffer: body).split(separator: "|", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { throw OpenAIError.invalidParameter("Send model|mode|text", param: "body") }
            return Call(model: parts[0], mode: parts[1], text: parts[2])
        }

        func subject(of call: Call) -> RouteSubject {
            RouteSubject(model: call.model, content: [call.text])
        }

        func respond(to call: Call, in exchange: RouteExchange) async throws -> RouteAnswer {
            calls.add()
            let words = call.text.split(separator: " ").map(String.init)
            let served = ServedBy(provider: "probe", model: "probe-1", attempt: 1)
            switch call.mode {
            case "complete":
                return .complete(
                    RouteBody(
                        bytes: Array(call.text.uppercased().utf8),
                        metered: Metered(
                            model: call.model,
                            servedBy: served,
                            usage: Usage(promptTokens: words.count, completionTokens: words.count, isEstimated: false)
                        )
                    )
                )
            case "stream", "stream-fail":
                let fails = call.mode == "stream-fail"
                return .stream(
                    RouteEventStream(
                        metered: Metered(model: call.model, servedBy: served),
                        terminator: ServerSentEvent(name: "done", data: Array("[END]".utf8)),
                        failure: { _ in ServerSentEvent(name: "error", data: Array(#"{"error":"broken"}"#.utf8)) },
                        produce: { metered, emit in
                            for (index, word) in words.enumerated() {
                                try await emit(ServerSentEvent(data: Array(word.utf8)))
                                metered.usage = Usage(
                                    promptTokens: words.count,
                                    completionTokens: index + 1,
                                    isEstimated: false
                                )
                                if fails { throw Broken() }
                            }
                        }
                    )
                )
            default:
                throw InferenceError(.circuitOpen, "the probe's upstream is down")
            }
        }
    }

    /// A screen that refuses any content containing "forbidden".
    struct RefusingScreen: ContentScreen {
        func screen(_ subject: RouteSubject, for authorization: Authorization) async throws {
            if subject.content.contains(where: { $0.contains("forbidden") }) {
                throw OpenAIError(
                    .badRequest,
                    type: "invalid_request_error",
                    code: "content_blocked",
                    message: "The content was refused"
                )
            }
        }
    }

    /// The edge's router with the probe route registered on a pipeline of its own.
    private static func application(
        _ harness: EdgeHarness,
        route: ProbeRoute,
        screen: any ContentScreen = PassThroughScreen()
    ) -> some ApplicationProtocol {
        let router = Edge.buildRouter(configuration: harness.configuration, services: harness.services)
        RequestPipeline(services: harness.services, maxBodyBytes: 1024, screen: screen).register(route, on: router)
        return Application(router: router)
    }

    private static func probe(
        _ client: some TestClientProtocol,
        _ body: String,
        key: String?
    ) async throws
        -> TestResponse
    {
        try await client.execute(
            uri: "/test/probe",
            method: .post,
            headers: HTTP.headers(key: key),
            body: ByteBuffer(string: body)
        )
    }

    @Test("authenticates: no key, a bad key, and a bad key with a malformed body are all 401", .timeLimit(.minutes(1)))
    func authenticates() async throws {
        // Given the probe route
        let harness = try EdgeHarness()
        let route = ProbeRoute()

        try await Self.application(harness, route: route).test(.router) { client in
            // When it is called without a key, with an unknown key, and with an unknown key and a malformed body
            let missing = try await Self.probe(client, "echo|complete|hi", key: nil)
            let unknown = try await Self.probe(client, "echo|complete|hi", key: "sk-sluice-0000000000000000-nope")
            let malformed = try await Self.probe(client, "garbage", key: "sk-sluice-0000000000000000-nope")

            // Then each is a 401 in OpenAI's shape with the request id, and the route was never called
            for response in [missing, unknown, malformed] {
                try HTTP.expectError(
                    response,
                    status: .unauthorized,
                    type: "invalid_request_error",
                    code: "invalid_api_key"
                )
                #expect(response.headers[EdgeHeaders.requestID] != nil)
            }
        }
        #expect(route.calls.made == 0)
    }

    @Test(
        "authorizes the route's model with governance, and a valid key with a malformed body gets 400",
        .timeLimit(.minutes(1))
    )
    func authorizes() async throws {
        // Given a key that may use only `echo`
        let harness = try EdgeHarness()
        let key = try await harness.createKey(models: ["echo"])
        let route = ProbeRoute()

        try await Self.application(harness, route: route).test(.router) { client in
            // When it asks for another model, and sends a malformed body
            let denied = try await Self.probe(client, "gpt-4o|complete|hi", key: key)
            let malformed = try await Self.probe(client, "garbage", key: key)

            // Then governance's denial is a 403, the route's own decoding error a 400
            try HTTP.expectError(
                denied,
                status: .forbidden,
                type: "permission_error",
                code: "model_not_allowed",
                param: "model"
            )
            try HTTP.expectError(
                malformed,
                status: .badRequest,
                type: "invalid_request_error",
                code: "invalid_parameter",
                param: "body"
            )
        }
        #expect(route.calls.made == 0)
    }

    @Test("screens content before the route is called", .timeLimit(.minutes(1)))
    func screens() async throws {
        // Given the probe route behind a screen that refuses "forbidden"
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        let route = ProbeRoute()

        try await Self.application(harness, route: route, screen: RefusingScreen()).test(.router) { client in
            // When one call carries refused content and one does not
            let refused = try await Self.probe(client, "echo|complete|something forbidden", key: key)
            let allowed = try await Self.probe(client, "echo|complete|something fine", key: key)

            // Then the first is refused by the screen and never reaches the route; the second is answered
            try HTTP.expectError(refused, status: .badRequest, type: "invalid_request_error", code: "content_blocked")
            #expect(allowed.status == .ok)
            #expect(String(buffer: allowed.body) == "SOMETHING FINE")
        }
        #expect(route.calls.made == 1)
    }

    @Test("records the usage of answered and failed calls in the ledger", .timeLimit(.minutes(1)))
    func recordsUsage() async throws {
        // Given the probe route while the recorder runs
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        let route = ProbeRoute()

        let ids = try await harness.withUsageRecorder {
            try await Self.application(harness, route: route).test(.router) { client in
                // When one call is answered and one fails in its service
                let answered = try await Self.probe(client, "echo|complete|three small words", key: key)
                let failed = try await Self.probe(client, "echo|fail|x", key: key)
                #expect(answered.status == .ok)
                #expect(answered.headers[.contentType] == "application/json")
                #expect(answered.headers[EdgeHeaders.overhead] != nil)
                try HTTP.expectError(
                    failed,
                    status: .serviceUnavailable,
                    type: "upstream_error",
                    code: "upstream_unavailable"
                )
                return [answered, failed].map { $0.headers[EdgeHeaders.requestID] }
            }
        }

        // Then both are in the ledger under their request ids, with what they used and how they ended
        let ledger = try await harness.store.ledger()
        #expect(ledger.map(\.requestID) == ids)
        #expect(ledger.map(\.outcome) == ["ok", "upstream_unavailable"])
        #expect(ledger.map(\.promptTokens) == [3, 0])
        #expect(ledger.map(\.completionTokens) == [3, 0])
        #expect(ledger.map(\.provider) == ["probe", ""])
    }

    @Test(
        "frames a stream as SSE, ends it with the terminator or the error event, and records what it delivered",
        .timeLimit(.minutes(1))
    )
    func streams() async throws {
        // Given the probe route while the recorder runs
        let harness = try EdgeHarness()
        let key = try await harness.createKey()
        let route = ProbeRoute()

        let (whole, cut) = try await harness.withUsageRecorder {
            try await Self.application(harness, route: route).test(.live) { client in
                // When one stream runs to its end and one fails after its first event
                let whole = try await Self.probe(client, "echo|stream|one two three", key: key)
                let cut = try await Self.probe(client, "echo|stream-fail|one two three", key: key)
                #expect(whole.headers[.contentType] == "text/event-stream")
                return (String(buffer: whole.body), String(buffer: cut.body))
            }
        }

        // Then the whole one ends with the terminator and the cut one with the error event, never the terminator
        #expect(whole == "data: one\n\ndata: two\n\ndata: three\n\nevent: done\ndata: [END]\n\n")
        #expect(cut == "data: one\n\nevent: error\ndata: {\"error\":\"broken\"}\n\n")
        // And each is recorded with the tokens it delivered
        let ledger = try await harness.store.ledger()
        #expect(ledger.map(\.completionTokens) == [3, 1])
        #expect(ledger.map(\.outcome) == ["ok", "internal_error"])
    }
}
