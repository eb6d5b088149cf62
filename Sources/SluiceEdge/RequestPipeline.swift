import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import SluiceGovernance
import SluiceInference

/// The steps every edge route's request goes through, written once.
///
/// In order:
/// 1. **Identify**: ``EdgeMiddleware`` gives the request its id and shapes errors.
/// 2. **Admit**: wait while the usage ledger is behind (``UsageRecorder/admit()``), so no usage record is dropped.
/// 3. **Authenticate**: the bearer credential (401 when missing).
/// 4. **Read**: the body (413 past `http.max_body_bytes`) into the route's call (400); a bad credential still wins.
/// 5. **Authorize**: governance decides for the credential, operation, model, route override and the prompt's
///    tokens (401, 403, 429 for a rate limit or an exhausted budget, each with OpenAI's `x-ratelimit-*` headers), and
///    reserves the call's worst case against its budgets. The edge caches no decision: limits and budgets are
///    governance's to count.
/// 6. **Screen**: the ``ContentScreen`` looks at what the call sends to a model.
/// 7. **Call**: the route calls its service and translates the answer.
/// 8. **Settle and record**: what the call used goes to the ledger through the ``UsageRecorder`` — a failed call
///    too, and a stream however it ended, with what it delivered.
/// 9. **Write**: the answer, or the event stream framed as SSE, ended by the route's terminator or error event.
///
/// ```swift
/// let pipeline = RequestPipeline(services: services, maxBodyBytes: 4 << 20)
/// pipeline.register(ChatCompletionsRoute(), on: router)
/// ```
package struct RequestPipeline: Sendable {
    /// The services behind the edge.
    package let services: EdgeServices
    /// The largest accepted request body.
    package let maxBodyBytes: Int
    /// The content step.
    package let screen: any ContentScreen

    /// Creates the pipeline.
    ///
    /// - Parameters:
    ///   - services: The services behind the edge.
    ///   - maxBodyBytes: The largest accepted request body.
    ///   - screen: The content step.
    package init(services: EdgeServices, maxBodyBytes: Int, screen: any ContentScreen = PassThroughScreen()) {
        self.services = services
        self.maxBodyBytes = maxBodyBytes
        self.screen = screen
    }

    /// Registers a route: its method and path, answered through every step.
    ///
    /// - Parameters:
    ///   - route: The route.
    ///   - router: The edge's router.
    package func register<Route: EdgeRoute>(_ route: Route, on router: Router<EdgeRequestContext>) {
        router.on(RouterPath(Route.path), method: Route.method) { request, context in
            try await handle(route, request, context: context)
        }
    }

    /// Answers one request through every step.
    ///
    /// - Parameters:
    ///   - route: The route.
    ///   - request: The request.
    ///   - context: The request's context, with its id.
    /// - Returns: The response.
    package func handle<Route: EdgeRoute>(
        _ route: Route,
        _ request: Request,
        context: EdgeRequestContext
    ) async throws -> Response {
        await services.usage.admit()
        let credential = try BearerCredential.token(in: request.headers)
        var request = request
        let body = Route.readsBody ? try await request.collectBody(upTo: maxBodyBytes) : ByteBuffer()
        let call: Route.Call
        do {
            call = try route.decode(request, body: body, context: context)
        } catch {
            // An unknown or revoked credential is told so before a malformed body.
            _ = try await authorize(credential, Route.operation, RouteSubject(), context: context)
            throw error
        }
        let subject = route.subject(of: call)
        let authorization = try await authorize(credential, Route.operation, subject, context: context)
        try await screen.screen(subject, for: authorization)

        let exchange = RouteExchange(
            authorization: authorization,
            requestID: context.requestID,
            services: services,
            timer: ServiceTimer()
        )
        let limitHeaders = RateLimitHeaders.fields(
            requests: authorization.requestLimit,
            tokens: authorization.tokenLimit
        )
        let answer: RouteAnswer
        do {
            answer = try await route.respond(to: call, in: exchange)
        } catch {
            if let model = subject.model {
                record(Metered(model: model), exchange: exchange, context: context, outcome: Self.outcome(error))
            }
            throw limitHeaders.isEmpty ? error : ErrorWithHeaders(error: error, headers: limitHeaders)
        }
        switch answer {
        case .complete(let body):
            if let metered = body.metered {
                record(metered, exchange: exchange, context: context, outcome: "ok")
            }
            var headers = body.headers
            headers.append(contentsOf: limitHeaders)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
            headers[EdgeHeaders.overhead] = Self.overhead(context: context, timer: exchange.timer)
            return Response(
                status: body.status,
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: body.bytes))
            )
        case .stream(var stream):
            stream.headers.append(contentsOf: limitHeaders)
            return self.stream(stream, exchange: exchange, context: context)
        }
    }

    // MARK: - Steps

    private func authorize(
        _ credential: String,
        _ operation: AuthorizationRequest.Operation,
        _ subject: RouteSubject,
        context: EdgeRequestContext
    ) async throws -> Authorization {
        try await services.governance.authorize(
            AuthorizationRequest(
                credential: credential,
                operation: operation,
                model: subject.model,
                requestID: context.requestID,
                route: subject.route,
                promptTokens: subject.promptTokens,
                maxTokens: subject.maxTokens
            )
        )
    }

    private func stream(_ stream: RouteEventStream, exchange: RouteExchange, context: EdgeRequestContext) -> Response {
        var headers = stream.headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[EdgeHeaders.overhead] = Self.overhead(context: context, timer: exchange.timer)
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                var metered = stream.metered
                var outcome = "ok"
                do {
                    try await stream.produce(&metered) { event in try await writer.write(Self.frame(event)) }
                    if let terminator = stream.terminator { try await writer.write(Self.frame(terminator)) }
                } catch {
                    outcome = Self.outcome(error)
                    try? await writer.write(Self.frame(stream.failure(error)))
                    services.logger.warning(
                        "stream ended with an error",
                        metadata: ["request_id": "\(context.requestID)", "error": "\(error)"]
                    )
                }
                record(metered, exchange: exchange, context: context, outcome: outcome)
                try await writer.finish(nil)
            }
        )
    }

    private func record(_ metered: Metered, exchange: RouteExchange, context: EdgeRequestContext, outcome: String) {
        if let usage = metered.usage {
            EdgeMetrics.tokens(model: metered.model, prompt: usage.promptTokens, completion: usage.completionTokens)
        }
        let elapsed = ContinuousClock.now - context.receivedAt
        services.usage.record(
            UsageRecord(
                requestID: context.requestID,
                principal: exchange.authorization.principal,
                model: metered.model,
                provider: metered.servedBy?.provider ?? "",
                upstreamModel: metered.servedBy?.model ?? "",
                promptTokens: metered.usage?.promptTokens ?? 0,
                completionTokens: metered.usage?.completionTokens ?? 0,
                isEstimated: metered.usage?.isEstimated ?? false,
                latencyMilliseconds: Int(elapsed / .milliseconds(1)),
                outcome: outcome,
                cachedPromptTokens: metered.usage.map(\.cachedPromptTokens)
            )
        )
    }

    // MARK: - Wire helpers

    /// An event in SSE framing: `event: <name>` when named, then `data: <data>`, then a blank line.
    static func frame(_ event: ServerSentEvent) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(event.data.count + (event.name?.utf8.count ?? 0) + 16)
        if let name = event.name {
            buffer.writeString("event: ")
            buffer.writeString(name)
            buffer.writeString("\n")
        }
        buffer.writeString("data: ")
        buffer.writeBytes(event.data)
        buffer.writeString("\n\n")
        return buffer
    }

    /// The time spent in Sluice itself so far: since the request arrived, less the time in services.
    static func overhead(context: EdgeRequestContext, timer: ServiceTimer) -> String {
        milliseconds((.now - context.receivedAt) - timer.elapsed)
    }

    /// A duration in milliseconds with three decimals ("0.123"), for `X-Sluice-Overhead-Ms`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The ledger's outcome for an error: its OpenAI error code.
    static func outcome(_ error: any Error) -> String {
        OpenAIError(error).code
    }
}
