package import GRPCCore
package import SluiceGRPCSupport
package import SluiceInference
package import SluiceProtos

/// Carries an ``InferenceGRPCClient``'s chat calls some other way than one RPC each; the wiring plugs one in
/// (`performance.exchange_streams`).
///
/// A carrier keeps the client's contract: the same requests, answers, errors and deadlines as the unary `Chat` and
/// the server-streaming `ChatStream`, cancellation of a waiting caller, and ``InferenceError`` for every failure.
package protocol InferenceCallCarrier: Sendable {
    /// Answers a chat request in one piece.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - timeout: The call's deadline.
    /// - Returns: The answer.
    /// - Throws: ``InferenceError``.
    func chat(_ request: Sluice_Inference_V1_ChatRequest, timeout: Duration) async throws -> ChatResponse

    /// Opens a streamed answer; returns once the service's `start` arrived.
    ///
    /// - Parameters:
    ///   - request: The request message.
    ///   - timeout: The whole stream's deadline.
    /// - Returns: The open stream.
    /// - Throws: ``InferenceError``.
    func openChatStream(_ request: Sluice_Inference_V1_ChatRequest, timeout: Duration) async throws -> ChatStream

    /// Runs what the carrier holds open, as part of the client's `run()`, until ``shutdown()`` and the end of its
    /// calls.
    ///
    /// - Parameters:
    ///   - client: The generated client to call with.
    ///   - longestCall: The longest deadline of any call the carrier takes.
    ///   - metadata: Metadata for the carrier's own RPCs (the service credential).
    func run<Transport: ClientTransport>(
        client: Sluice_Inference_V1_InferenceService.Client<Transport>,
        longestCall: Duration,
        metadata: Metadata
    ) async

    /// Stops taking calls; those open finish.
    func shutdown()
}

/// Serves the `Exchange` RPC of an ``InferenceGRPCService``; the wiring plugs one in
/// (`performance.exchange_streams`). Without one, `Exchange` answers `UNIMPLEMENTED`.
package protocol InferenceExchangeServer: Sendable {
    /// Serves one `Exchange` stream until the caller half-closes it and its calls have ended.
    ///
    /// - Parameters:
    ///   - service: The inference implementation the calls go to.
    ///   - requests: The caller's messages.
    ///   - response: The writer for the calls' messages.
    ///   - context: The stream's context.
    ///   - drain: The server's drain flag: while set, a cancellation from the transport is the shutdown's quiesce.
    ///   - executor: Where the calls run, each in its own task; `nil` for the global executor.
    func serve(
        service: any InferenceService,
        requests: RPCAsyncSequence<Sluice_Inference_V1_ExchangeRequest, any Error>,
        response: RPCWriter<Sluice_Inference_V1_ExchangeEvent>,
        context: ServerContext,
        drain: ServerDrain?,
        executor: (any TaskExecutor)?
    ) async throws
}
