package import HTTPTypes
package import Hummingbird
package import SluiceGovernance
package import SluiceInference

/// One edge route: the translation between a wire format and the service protocols, and nothing else.
///
/// A route reads its request into a call, says what governance must know of it, and turns the service's answer into
/// its wire format. Everything else is the ``RequestPipeline``'s, the same for every route: the request id,
/// admission, the credential, authorization, content screening, usage recording and SSE framing. A new route gets
/// all of it by being registered:
///
/// ```swift
/// struct EchoRoute: EdgeRoute {
///     static let method = HTTPRequest.Method.post
///     static let path = "/v1/echo"
///     static let operation = AuthorizationRequest.Operation.chat
///
///     func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws -> String {
///         String(buffer: body)
///     }
///     func subject(of call: String) -> RouteSubject { RouteSubject(model: "echo", content: [call]) }
///     func respond(to call: String, in exchange: RouteExchange) async throws -> RouteAnswer {
///         .complete(RouteBody(bytes: Array(call.utf8), metered: Metered(model: "echo")))
///     }
/// }
///
/// pipeline.register(EchoRoute(), on: router)
/// ```
package protocol EdgeRoute: Sendable {
    /// What the route's request reads into.
    associatedtype Call: Sendable

    /// The HTTP method.
    static var method: HTTPRequest.Method { get }
    /// The path, in Hummingbird's router syntax.
    static var path: String { get }
    /// The operation governance authorizes.
    static var operation: AuthorizationRequest.Operation { get }
    /// Whether the route reads a request body (up to `http.max_body_bytes`).
    static var readsBody: Bool { get }

    /// Reads the request into a call.
    ///
    /// - Parameters:
    ///   - request: The request (its head; the body is already read).
    ///   - body: The request body; empty for routes that read none.
    ///   - context: The request's context.
    /// - Returns: The call.
    /// - Throws: An error in the route's wire shape for a malformed request (400).
    func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws -> Call

    /// What governance and the content screen must know of a call.
    ///
    /// - Parameter call: The call.
    /// - Returns: Its model, route override and content.
    func subject(of call: Call) -> RouteSubject

    /// Makes the call and turns its answer into the route's wire format.
    ///
    /// - Parameters:
    ///   - call: The authorized, screened call.
    ///   - exchange: Who is calling, and the services to call.
    /// - Returns: A whole answer or an event stream.
    /// - Throws: A service error, which the pipeline records and shapes.
    func respond(to call: Call, in exchange: RouteExchange) async throws -> RouteAnswer
}

extension EdgeRoute {
    /// Routes that `POST` read a body; others do not.
    package static var readsBody: Bool { method == .post }
}

/// What governance and the content screen must know of a call before it is made.
package struct RouteSubject: Sendable, Hashable {
    /// The public model the call uses, if any.
    package var model: String?
    /// The route override asked for (`X-Sluice-Route`, "provider/model"), if any.
    package var route: String?
    /// The texts the call sends to a model, for the content screen.
    package var content: [String]
    /// The prompt's tokens, for tokens-per-minute limits and budgets.
    package var promptTokens: Int?
    /// The completion tokens the call allows (`max_tokens`), if it sets a limit.
    package var maxTokens: Int?

    /// Creates a subject.
    ///
    /// - Parameters:
    ///   - model: The public model.
    ///   - route: The route override asked for.
    ///   - content: The texts the call sends to a model.
    ///   - promptTokens: The prompt's tokens.
    ///   - maxTokens: The completion tokens the call allows.
    package init(
        model: String? = nil,
        route: String? = nil,
        content: [String] = [],
        promptTokens: Int? = nil,
        maxTokens: Int? = nil
    ) {
        self.model = model
        self.route = route
        self.content = content
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
    }
}

/// What a route's ``EdgeRoute/respond(to:in:)`` works with: the caller, the request and the services.
package struct RouteExchange: Sendable {
    /// Governance's decision for this call.
    package var authorization: Authorization
    /// The request id.
    package var requestID: String
    /// The services behind the edge.
    package var services: EdgeServices
    /// Measures the time spent in services, for `X-Sluice-Overhead-Ms`.
    package let timer: ServiceTimer

    /// Runs a service call, counting its time as the service's rather than Sluice's.
    ///
    /// - Parameter call: The service call.
    /// - Returns: Its result.
    package func timed<Result: Sendable>(_ call: () async throws -> Result) async throws -> Result {
        let started = ContinuousClock.now
        defer { timer.add(.now - started) }
        return try await call()
    }
}

/// What a call used, as the ledger records it.
package struct Metered: Sendable, Hashable {
    /// The public model.
    package var model: String
    /// The provider and upstream model that answered, once one did.
    package var servedBy: ServedBy?
    /// The tokens used, once known.
    package var usage: Usage?

    /// Creates a meter reading.
    ///
    /// - Parameters:
    ///   - model: The public model.
    ///   - servedBy: The provider and upstream model that answered.
    ///   - usage: The tokens used.
    package init(model: String, servedBy: ServedBy? = nil, usage: Usage? = nil) {
        self.model = model
        self.servedBy = servedBy
        self.usage = usage
    }
}

/// A route's answer.
package enum RouteAnswer: Sendable {
    /// A whole answer.
    case complete(RouteBody)
    /// A server-sent event stream.
    case stream(RouteEventStream)
}

/// A whole answer: its headers, body and what the call used.
package struct RouteBody: Sendable {
    /// The status.
    package var status: HTTPResponse.Status
    /// The headers; `Content-Type` defaults to JSON.
    package var headers: HTTPFields
    /// The body.
    package var bytes: [UInt8]
    /// What the call used; `nil` for calls the ledger does not record (listing models).
    package var metered: Metered?

    /// Creates an answer.
    ///
    /// - Parameters:
    ///   - status: The status.
    ///   - headers: The headers.
    ///   - bytes: The body.
    ///   - metered: What the call used.
    package init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], bytes: [UInt8], metered: Metered?) {
        self.status = status
        self.headers = headers
        self.bytes = bytes
        self.metered = metered
    }
}

/// One server-sent event: an optional name and its data (one line of JSON, or a marker such as `[DONE]`).
package struct ServerSentEvent: Sendable, Hashable {
    /// The event's name (`event:`), or `nil` for an unnamed event.
    package var name: String?
    /// The event's data (`data:`); it must not contain a line break.
    package var data: [UInt8]

    /// Creates an event.
    ///
    /// - Parameters:
    ///   - name: The event's name.
    ///   - data: The event's data.
    package init(name: String? = nil, data: [UInt8]) {
        self.name = name
        self.data = data
    }
}

/// A streamed answer: the route produces its events; the pipeline frames them, ends the stream with the route's
/// error event when producing fails, and records what was used however the stream ended.
package struct RouteEventStream: Sendable {
    /// The headers; `Content-Type: text/event-stream` and `Cache-Control: no-cache` are added.
    package var headers: HTTPFields
    /// What the call used when the stream opened.
    package var metered: Metered
    /// Produces the events through `emit`, updating the meter as usage becomes known. Returning ends the stream
    /// normally; throwing ends it with ``failure``'s event.
    package var produce:
        @Sendable (_ metered: inout Metered, _ emit: (ServerSentEvent) async throws -> Void) async throws -> Void
    /// The event that ends a failed stream, in the route's wire shape.
    package var failure: @Sendable (any Error) -> ServerSentEvent
    /// The event that ends a complete stream (OpenAI's `[DONE]`), if the wire format has one.
    package var terminator: ServerSentEvent?

    /// Creates a streamed answer.
    ///
    /// - Parameters:
    ///   - headers: Extra headers.
    ///   - metered: What the call used when the stream opened.
    ///   - terminator: The event that ends a complete stream.
    ///   - failure: The event that ends a failed stream.
    ///   - produce: Produces the events.
    package init(
        headers: HTTPFields = [:],
        metered: Metered,
        terminator: ServerSentEvent? = nil,
        failure: @escaping @Sendable (any Error) -> ServerSentEvent,
        produce:
            @escaping @Sendable (_ metered: inout Metered, _ emit: (ServerSentEvent) async throws -> Void)
            async throws -> Void
    ) {
        self.headers = headers
        self.metered = metered
        self.terminator = terminator
        self.failure = failure
        self.produce = produce
    }
}
