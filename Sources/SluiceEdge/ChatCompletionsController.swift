import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SluiceGovernance
import SluiceInference

/// `POST /v1/chat/completions`: OpenAI's chat completions, streamed or not, for any configured model.
///
/// Order of checks: credential present (401), body size (413), JSON and parameters (400; a bad credential
/// still wins with 401), governance for the model (401/403), then inference (404, 429, 502, 503, 504).
/// A stream that fails after it started ends with an error chunk and no `[DONE]`.
struct ChatCompletionsController: Sendable {
    let services: EdgeServices
    let maxBodyBytes: Int

    func addRoutes(to router: Router<EdgeRequestContext>) {
        router.post("/v1/chat/completions") { request, context in
            try await chatCompletions(request, context: context)
        }
    }

    private func chatCompletions(_ request: Request, context: EdgeRequestContext) async throws -> Response {
        let credential = try Self.bearerToken(request)
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let parsed: OpenAIChatRequest
        let domain: ChatRequest
        do {
            parsed = try OpenAIChatRequest.decode(Array(buffer: body))
            domain = try parsed.domainRequest(requestID: context.requestID)
        } catch {
            _ = try await authorize(credential, model: nil, context: context)
            throw error
        }
        let authorization = try await authorize(credential, model: parsed.model, context: context)
        var routed = domain
        routed.tenantID = authorization.principal.tenantID
        routed.route = try Self.route(from: request, authorization: authorization)

        if parsed.isStream {
            return try await stream(routed, parsed: parsed, authorization: authorization, context: context)
        }
        let startedUpstream = ContinuousClock.now
        let response: ChatResponse
        do {
            response = try await services.inference.chat(routed)
        } catch {
            record(
                routed,
                authorization: authorization,
                servedBy: nil,
                usage: nil,
                context: context,
                outcome: Self.outcome(error)
            )
            throw error
        }
        let upstreamDone = ContinuousClock.now
        let bytes = OpenAIChatEncoding.completion(response, model: parsed.model)
        record(
            routed,
            authorization: authorization,
            servedBy: response.servedBy,
            usage: response.usage,
            context: context,
            outcome: "ok"
        )
        var headers = Self.servedHeaders(response.servedBy)
        headers[.contentType] = "application/json"
        let overhead = (startedUpstream - context.receivedAt) + (.now - upstreamDone)
        headers[EdgeHeaders.overhead] = Self.milliseconds(overhead)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Streaming

    private func stream(
        _ request: ChatRequest,
        parsed: OpenAIChatRequest,
        authorization: Authorization,
        context: EdgeRequestContext
    ) async throws -> Response {
        let startedUpstream = ContinuousClock.now
        let stream: ChatStream
        do {
            stream = try await services.inference.openChatStream(request)
        } catch {
            record(
                request,
                authorization: authorization,
                servedBy: nil,
                usage: nil,
                context: context,
                outcome: Self.outcome(error)
            )
            throw error
        }
        let opened = ContinuousClock.now
        var headers = Self.servedHeaders(stream.servedBy)
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[EdgeHeaders.overhead] = Self.milliseconds((startedUpstream - context.receivedAt) + (.now - opened))
        let includeUsage = parsed.wantsStreamUsage
        let model = parsed.model
        let requestID = context.requestID
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                var usage: Usage?
                var outcome = "ok"
                func chunk(
                    _ delta: OpenAIChatEncoding.Chunk.Delta?,
                    finish: String? = nil,
                    usage: Usage? = nil
                ) -> ByteBuffer {
                    let value = OpenAIChatEncoding.Chunk(
                        id: stream.id,
                        created: stream.created,
                        model: model,
                        delta: delta,
                        finishReason: finish,
                        usage: usage.map(OpenAIChatEncoding.WireUsage.init),
                        includeUsageField: includeUsage
                    )
                    return Self.event(OpenAIChatEncoding.chunk(value))
                }
                do {
                    try await writer.write(chunk(.init(role: "assistant", content: "")))
                    for try await event in stream.events {
                        switch event {
                        case .delta(let delta):
                            try await writer.write(chunk(OpenAIChatEncoding.deltaChunk(delta)))
                        case .finish(let reason):
                            try await writer.write(chunk(.init(), finish: reason.rawValue))
                        case .usage(let reported):
                            usage = reported
                            if includeUsage { try await writer.write(chunk(nil, usage: reported)) }
                        }
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                } catch {
                    outcome = Self.outcome(error)
                    let failure = OpenAIError(error)
                    try? await writer.write(Self.event(failure.body))
                    services.logger.warning(
                        "stream ended with an error",
                        metadata: ["request_id": "\(requestID)", "error": "\(error)"]
                    )
                }
                record(
                    request,
                    authorization: authorization,
                    servedBy: stream.servedBy,
                    usage: usage,
                    context: context,
                    outcome: outcome
                )
                try await writer.finish(nil)
            }
        )
    }

    // MARK: - Helpers

    private func authorize(
        _ credential: String,
        model: String?,
        context: EdgeRequestContext
    ) async throws -> Authorization {
        try await services.governance.authorize(
            AuthorizationRequest(credential: credential, operation: .chat, model: model, requestID: context.requestID)
        )
    }

    private func record(
        _ request: ChatRequest,
        authorization: Authorization,
        servedBy: ServedBy?,
        usage: Usage?,
        context: EdgeRequestContext,
        outcome: String
    ) {
        if let usage {
            EdgeMetrics.tokens(model: request.model, prompt: usage.promptTokens, completion: usage.completionTokens)
        }
        let elapsed = ContinuousClock.now - context.receivedAt
        services.usage.record(
            UsageRecord(
                requestID: context.requestID,
                principal: authorization.principal,
                model: request.model,
                provider: servedBy?.provider ?? "",
                upstreamModel: servedBy?.model ?? "",
                promptTokens: usage?.promptTokens ?? 0,
                completionTokens: usage?.completionTokens ?? 0,
                isEstimated: usage?.isEstimated ?? false,
                latencyMilliseconds: Int(
                    elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
                ),
                outcome: outcome
            )
        )
    }

    static func bearerToken(_ request: Request) throws -> String {
        // One pass over the fields: `headers[.authorization]` would join repeated fields into one new string.
        var header: String?
        for field in request.headers where field.name == .authorization {
            guard header == nil else {
                throw OpenAIError(
                    .unauthorized,
                    type: "invalid_request_error",
                    code: "invalid_api_key",
                    message: "Send one Authorization header, not several"
                )
            }
            header = field.value
        }
        guard let header, let token = parseBearer(header) else {
            throw OpenAIError(
                .unauthorized,
                type: "invalid_request_error",
                code: "invalid_api_key",
                message: "Missing API key: send 'Authorization: Bearer <key>'"
            )
        }
        return token
    }

    private static let bearerScheme = Array("bearer ".utf8)

    /// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, spaces and tabs around the
    /// token ignored), or `nil` when the value is not a non-empty bearer credential.
    static func parseBearer(_ header: String) -> String? {
        let utf8 = header.utf8
        let scheme = bearerScheme
        guard utf8.count > scheme.count else { return nil }
        for (byte, expected) in zip(utf8, scheme) where byte | 0x20 != expected | 0x20 {
            return nil
        }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var token = utf8.dropFirst(scheme.count)
        while let first = token.first, isBlank(first) { token = token.dropFirst() }
        while let last = token.last, isBlank(last) { token = token.dropLast() }
        return token.isEmpty ? nil : String(Substring(token))
    }

    private static func route(from request: Request, authorization: Authorization) throws -> ChatRequest.Route? {
        guard let header = request.headers[EdgeHeaders.route] else { return nil }
        let parts = header.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw OpenAIError.invalidParameter("X-Sluice-Route must read 'provider/model'", param: "X-Sluice-Route")
        }
        guard authorization.principal.roles.contains(.admin) else {
            throw OpenAIError(
                .forbidden,
                type: "permission_error",
                code: "route_not_allowed",
                message: "This API key may not override routes"
            )
        }
        return ChatRequest.Route(provider: parts[0], model: parts[1])
    }

    private static func servedHeaders(_ servedBy: ServedBy) -> HTTPFields {
        var headers = HTTPFields()
        headers[EdgeHeaders.provider] = servedBy.provider
        headers[EdgeHeaders.model] = servedBy.model
        return headers
    }

    /// A duration in milliseconds with three decimals ("0.123"), for `X-Sluice-Overhead-Ms`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    private static func event(_ json: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 8)
        buffer.writeString("data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }

    private static func outcome(_ error: any Error) -> String {
        OpenAIError(error).code
    }
}
