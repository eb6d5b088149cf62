import HTTPTypes
import Hummingbird
import SluiceGovernance
import SluiceInference

/// `POST /v1/chat/completions`: OpenAI's chat completions, streamed or not, for any configured model.
///
/// The route translates OpenAI's request into a ``ChatRequest`` and the answer back into a completion or its chunks;
/// the ``RequestPipeline`` does everything else. Order of checks: credential present (401), body size (413), JSON
/// and parameters (400; a bad credential still wins with 401), governance for the model and any route override
/// (401/403), then inference (404, 429, 502, 503, 504). A stream that fails after it started ends with an error
/// chunk and no `[DONE]`.
struct ChatCompletionsRoute: EdgeRoute {
    static let method = HTTPRequest.Method.post
    static let path = "/v1/chat/completions"
    static let operation = AuthorizationRequest.Operation.chat

    /// Reads requests and writes answers.
    var codec: any OpenAIChatCodec = CodableOpenAIChatCodec()

    struct Call: Sendable {
        var parsed: OpenAIChatRequest
        var request: ChatRequest
        /// The `X-Sluice-Route` header as sent, when well-formed.
        var routeHeader: String?
    }

    func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws -> Call {
        let parsed = try codec.decodeRequest(Array(buffer: body))
        var domain = try parsed.domainRequest(requestID: context.requestID)
        let header = request.headers[EdgeHeaders.route]
        if let header {
            let parts = header.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw OpenAIError.invalidParameter("X-Sluice-Route must read 'provider/model'", param: "X-Sluice-Route")
            }
            domain.route = ChatRequest.Route(provider: parts[0], model: parts[1])
        }
        return Call(parsed: parsed, request: domain, routeHeader: header)
    }

    func subject(of call: Call) -> RouteSubject {
        RouteSubject(model: call.parsed.model, route: call.routeHeader, content: call.request.messages.map(\.text))
    }

    func respond(to call: Call, in exchange: RouteExchange) async throws -> RouteAnswer {
        var request = call.request
        request.tenantID = exchange.authorization.principal.tenantID
        let inference = exchange.services.inference
        let model = call.parsed.model
        guard call.parsed.isStream else {
            let response = try await exchange.timed { try await inference.chat(request) }
            return .complete(
                RouteBody(
                    headers: Self.servedHeaders(response.servedBy),
                    bytes: codec.encodeCompletion(response, model: model),
                    metered: Metered(model: model, servedBy: response.servedBy, usage: response.usage)
                )
            )
        }
        let stream = try await exchange.timed { try await inference.openChatStream(request) }
        let includeUsage = call.parsed.wantsStreamUsage
        let codec = self.codec
        return .stream(
            RouteEventStream(
                headers: Self.servedHeaders(stream.servedBy),
                metered: Metered(model: model, servedBy: stream.servedBy),
                terminator: ServerSentEvent(data: Array("[DONE]".utf8)),
                failure: { ServerSentEvent(data: OpenAIError($0).body) },
                produce: { metered, emit in
                    func chunk(
                        _ delta: OpenAIChatEncoding.Chunk.Delta?,
                        finish: String? = nil,
                        usage: Usage? = nil
                    )
                        -> ServerSentEvent
                    {
                        let value = OpenAIChatEncoding.Chunk(
                            id: stream.id,
                            created: stream.created,
                            model: model,
                            delta: delta,
                            finishReason: finish,
                            usage: usage.map(OpenAIChatEncoding.WireUsage.init),
                            includeUsageField: includeUsage
                        )
                        return ServerSentEvent(data: codec.encodeChunk(value))
                    }
                    try await emit(chunk(.init(role: "assistant", content: "")))
                    for try await event in stream.events {
                        switch event {
                        case .delta(let delta):
                            try await emit(chunk(OpenAIChatEncoding.deltaChunk(delta)))
                        case .finish(let reason):
                            try await emit(chunk(.init(), finish: reason.rawValue))
                        case .usage(let reported):
                            metered.usage = reported
                            if includeUsage { try await emit(chunk(nil, usage: reported)) }
                        }
                    }
                }
            )
        )
    }

    private static func servedHeaders(_ servedBy: ServedBy) -> HTTPFields {
        var headers = HTTPFields()
        headers[EdgeHeaders.provider] = servedBy.provider
        headers[EdgeHeaders.model] = servedBy.model
        return headers
    }
}
