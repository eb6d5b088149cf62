package import GRPCCore
package import SluiceGRPCSupport
package import SluiceInference
package import SluiceProtos

/// Serves an ``InferenceService`` as `sluice.inference.v1.InferenceService`.
///
/// Every RPC of the proto is implemented. Domain errors leave as statuses through ``InferenceError``'s
/// `RPCErrorConvertible` conformance, with the exact domain code in trailing metadata. Each handler runs the domain
/// call so that gRPC's cancellation (deadline, client gone, server shutdown) cancels it.
///
/// `ChatStream` sends `start` (id, creation time, provider, model and attempt from ``ChatStream/servedBy``) as soon as
/// the domain stream is open, then one message per event; a failure before `start` ends the RPC with the domain
/// error's status and no message, a failure after it ends the RPC with that status after the events sent so far.
///
/// ```swift
/// let server = GRPCServer(
///     transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 50061), transportSecurity: .plaintext),
///     services: [InferenceGRPCService(service: local)],
///     interceptors: [InternalTokenInterceptor(token: token)]
/// )
/// ```
package struct InferenceGRPCService: Sluice_Inference_V1_InferenceService.SimpleServiceProtocol {
    private let service: any InferenceService
    private let drain: ServerDrain?
    private let executor: (any TaskExecutor)?
    private let exchangeServer: (any InferenceExchangeServer)?

    /// Creates the gRPC service.
    ///
    /// - Parameters:
    ///   - service: The inference implementation to serve, normally ``LocalInferenceService``.
    ///   - drain: The server's drain flag: while it is set, a cancellation signal from the transport is
    ///     the shutdown's quiesce and in-flight calls finish. `nil` treats every signal as a cancellation.
    ///   - executor: Where the calls carried by `Exchange` run, each in its own task; pass the executor the server
    ///     runs its handlers on. `nil` runs them on the global executor.
    ///   - exchange: What serves `Exchange` streams; `nil` answers them `UNIMPLEMENTED`.
    package init(
        service: any InferenceService,
        drain: ServerDrain? = nil,
        executor: (any TaskExecutor)? = nil,
        exchange: (any InferenceExchangeServer)? = nil
    ) {
        self.service = service
        self.drain = drain
        self.executor = executor
        self.exchangeServer = exchange
    }

    /// Answers `Chat` with the domain's ``InferenceService/chat(_:)``.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func chat(
        request: Sluice_Inference_V1_ChatRequest,
        context: ServerContext
    ) async throws -> Sluice_Inference_V1_ChatResponse {
        let chatRequest = try ChatRequest(proto: request)
        let service = self.service
        let response = try await perform(context) { try await service.chat(chatRequest) }
        return Sluice_Inference_V1_ChatResponse(response)
    }

    /// Answers `ChatStream`: `start` from ``ChatStream/servedBy``, then one message per domain event.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - response: The writer for the events.
    ///   - context: The call's context.
    package func chatStream(
        request: Sluice_Inference_V1_ChatRequest,
        response: RPCWriter<Sluice_Inference_V1_ChatStreamEvent>,
        context: ServerContext
    ) async throws {
        let chatRequest = try ChatRequest(proto: request)
        let service = self.service
        try await perform(context) {
            let stream = try await service.openChatStream(chatRequest)
            try await response.write(Sluice_Inference_V1_ChatStreamEvent(startOf: stream))
            var isFirstDelta = true
            for try await event in stream.events {
                try await response.write(Sluice_Inference_V1_ChatStreamEvent(event, isFirstDelta: isFirstDelta))
                if case .delta = event { isFirstDelta = false }
            }
        }
    }

    /// Answers `ListModels` sorted by id, keeping only the `allowed` names when the request lists any.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func listModels(
        request: Sluice_Inference_V1_ListModelsRequest,
        context: ServerContext
    ) async throws -> Sluice_Inference_V1_ListModelsResponse {
        let service = self.service
        let models = try await perform(context) { try await service.listModels() }
        let allowed = Set(request.allowed)
        var response = Sluice_Inference_V1_ListModelsResponse()
        response.models = models.filter { allowed.isEmpty || allowed.contains($0.id) }
            .sorted { $0.id < $1.id }
            .map(Sluice_Inference_V1_Model.init)
        return response
    }

    /// Answers `CountTokens`: exactly one of `messages` (with `tools`) and `text`, as the proto says.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - context: The call's context.
    package func countTokens(
        request: Sluice_Inference_V1_CountTokensRequest,
        context: ServerContext
    ) async throws -> Sluice_Inference_V1_CountTokensResponse {
        let count = try TokenCountRequest(proto: request)
        let service = self.service
        let result = try await perform(context) { try await service.countTokens(count) }
        return Sluice_Inference_V1_CountTokensResponse(result)
    }

    /// Answers `Exchange` with the plugged-in ``InferenceExchangeServer``: it serves the calls the stream carries
    /// until the caller half-closes it and they have ended. Without one, the RPC fails with `UNIMPLEMENTED`.
    ///
    /// - Parameters:
    ///   - request: The caller's messages.
    ///   - response: The writer for the calls' messages.
    ///   - context: The stream's context.
    package func exchange(
        request: RPCAsyncSequence<Sluice_Inference_V1_ExchangeRequest, any Error>,
        response: RPCWriter<Sluice_Inference_V1_ExchangeEvent>,
        context: ServerContext
    ) async throws {
        guard let exchangeServer else {
            throw RPCError(code: .unimplemented, message: "This server does not serve Exchange streams")
        }
        try await exchangeServer.serve(
            service: service,
            requests: request,
            response: response,
            context: context,
            drain: drain,
            executor: executor
        )
    }

    /// Runs a domain call, cancelled with the RPC, and makes sure only ``InferenceError`` or `RPCError` escapes.
    private func perform<Result: Sendable>(
        _ context: ServerContext,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        do {
            return try await context.cancellingWhenRPCCancelled(drain: drain, operation)
        } catch let error as InferenceError {
            throw error
        } catch let error as RPCError {
            throw error
        } catch is CancellationError {
            throw InferenceError(.cancelled, "The call was cancelled")
        } catch {
            throw InferenceError(.internal, "The inference service failed unexpectedly")
        }
    }
}
