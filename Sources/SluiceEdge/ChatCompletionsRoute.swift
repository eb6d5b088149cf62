import HTTPTypes
import Hummingbird
import SluiceGovernance
import SluiceInference

/// `POST /v1/chat/completions`: OpenAI's chat completions, streamed or not, for any configured model.
///
/// The route translates OpenAI's request into a ``ChatRequest`` and the answer back into a completion or its chunks;
/// the ``RequestPipeline`` does everything else. Order of checks: credential present (401), body size (413), JSON
/// and parameters (400; a bad credential still wins with 401), governance for the model and any route override
/// (401/403), limits and budgets (429), then inference (404, 429, 502, 503, 504). A stream that fails after it
/// started ends with an error chunk and no `[DONE]`.
///
/// Budgets: the prompt is counted before governance admits the call, which reserves the prompt plus `max_tokens`
/// (or the configured cap). A call without `max_tokens` is sent upstream with the reservation's completion tokens as
/// its limit when it is not streamed; a stream is counted as it goes and ended with an `insufficient_quota` error
/// chunk before it would deliver more than its reservation. A stream that ends early (cut, failed, or closed by the
/// client) is recorded with what it delivered, counted here when the provider's usage never came.
struct ChatCompletionsRoute: EdgeRoute {
    static let method = HTTPRequest.Method.post
    static let path = "/v1/chat/completions"
    static let operation = AuthorizationRequest.Operation.chat

    /// Reads requests and writes answers.
    var codec: any OpenAIChatCodec = CodableOpenAIChatCodec()
    /// Counts prompts and delivered completions.
    var tokens = PromptTokenCounter(cl100k: nil)

    struct Call: Sendable {
        var parsed: OpenAIChatRequest
        var request: ChatRequest
        /// The `X-Sluice-Route` header as sent, when well-formed.
        var routeHeader: String?
        /// The prompt's tokens, counted for the public model's encoding (estimated when unknown).
        var promptTokens: Int
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
        let prompt = tokens.countPrompt(domain.messages, tools: domain.tools, upstreamModel: parsed.model)
        return Call(parsed: parsed, request: domain, routeHeader: header, promptTokens: prompt.tokens)
    }

    func subject(of call: Call) -> RouteSubject {
        RouteSubject(
            model: call.parsed.model,
            route: call.routeHeader,
            content: call.request.messages.map(\.text),
            promptTokens: call.promptTokens,
            maxTokens: call.request.maxTokens
        )
    }

    func respond(to call: Call, in exchange: RouteExchange) async throws -> RouteAnswer {
        var request = call.request
        request.tenantID = exchange.authorization.principal.tenantID
        let inference = exchange.services.inference
        let model = call.parsed.model
        let allowance = exchange.authorization.reservation?.completionTokens
        guard call.parsed.isStream else {
            if let allowance, request.maxTokens == nil { request.maxTokens = Int(clamping: allowance) }
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
        let meter = StreamMeter(
            tokens: tokens,
            upstreamModel: stream.servedBy.model,
            promptTokens: call.promptTokens,
            allowance: allowance
        )
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
                    var meter = meter
                    do {
                        try await emit(chunk(.init(role: "assistant", content: "")))
                        for try await event in stream.events {
                            switch event {
                            case .delta(let delta):
                                try meter.admit(delta)
                                try await emit(chunk(OpenAIChatEncoding.deltaChunk(delta)))
                                meter.delivered(delta)
                            case .finish(let reason):
                                try await emit(chunk(.init(), finish: reason.rawValue))
                            case .usage(let reported):
                                metered.usage = reported
                                if includeUsage { try await emit(chunk(nil, usage: reported)) }
                            }
                        }
                    } catch {
                        if metered.usage == nil { metered.usage = meter.usage }
                        throw error
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

/// What a stream delivered, counted as it goes when a budget reservation bounds it, and otherwise only when the
/// stream ends before its provider reported usage.
struct StreamMeter: Sendable {
    let tokens: PromptTokenCounter
    let upstreamModel: String
    let promptTokens: Int
    /// The completion tokens the reservation covers; `nil` when no budget applies.
    let allowance: Int64?
    /// Completion tokens delivered, when counted as the stream goes.
    private var counted: Int64 = 0
    /// The cost of the delta ``admit(_:)`` last let through.
    private var pending: Int64 = 0
    /// Text delivered, when counted only at the end.
    private var text = ""

    init(tokens: PromptTokenCounter, upstreamModel: String, promptTokens: Int, allowance: Int64?) {
        self.tokens = tokens
        self.upstreamModel = upstreamModel
        self.promptTokens = promptTokens
        self.allowance = allowance
    }

    /// Lets a delta through unless it would take the stream past its reservation.
    ///
    /// - Throws: ``OpenAIError`` `insufficient_quota` when the delta does not fit.
    mutating func admit(_ delta: ChatDelta) throws {
        guard let allowance else { return }
        pending = Int64(tokens.countCompletion(Self.text(of: delta), upstreamModel: upstreamModel))
        guard counted + pending <= allowance else {
            throw OpenAIError(
                .tooManyRequests,
                type: "insufficient_quota",
                code: "insufficient_quota",
                message: "This stream reached its budget reservation of \(allowance) completion tokens and ends here; "
                    + "set max_tokens to reserve what the answer needs"
            )
        }
    }

    /// Counts a delta the client was sent.
    mutating func delivered(_ delta: ChatDelta) {
        if allowance != nil {
            counted += pending
        } else {
            text += Self.text(of: delta)
        }
    }

    /// The usage of what was delivered, estimated.
    var usage: Usage {
        let completion =
            allowance != nil
            ? Int(counted) : (text.isEmpty ? 0 : tokens.countCompletion(text, upstreamModel: upstreamModel))
        return Usage(promptTokens: promptTokens, completionTokens: completion, isEstimated: true)
    }

    private static func text(of delta: ChatDelta) -> String {
        var text = delta.content ?? ""
        for call in delta.toolCalls {
            text += (call.name ?? "") + (call.arguments ?? "")
        }
        return text
    }
}
