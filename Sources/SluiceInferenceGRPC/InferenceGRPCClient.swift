package import GRPCCore
import ServiceLifecycle
package import SluiceInference
import SluiceProtos

/// An ``InferenceService`` that calls a remote `sluice.inference.v1.InferenceService`.
///
/// Every call carries a deadline (`CallOptions.timeout`): `timeout` for the unary calls and `streamTimeout` for the
/// whole of a chat stream. When an internal token is configured, every call sends `authorization: Bearer <token>`;
/// calls with a request id also send `x-request-id`. Errors come back as the ``InferenceError`` the server threw;
/// failing to reach the server is ``InferenceError/Code/upstreamUnavailable`` (``InferenceError/Code/upstreamTimeout``
/// when the deadline passed).
///
/// With a ``InferenceCallCarrier`` plugged in, ``chat(_:)`` and ``openChatStream(_:)`` travel through it instead of
/// one RPC each, with the same requests, answers, errors and deadlines.
///
/// The client is a `Service`: add it to the process's `ServiceGroup`. Its ``run()`` keeps the connections and runs
/// the chat streams that ``openChatStream(_:)`` hands it, because grpc-swift scopes a streaming response to a closure
/// while the protocol returns the open stream, and whatever the carrier holds open. On graceful shutdown it stops accepting
/// calls, lets the open ones finish, then closes the connections.
///
/// ```swift
/// let grpc = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(host: "127.0.0.1", port: 50061),
///                                                      transportSecurity: .plaintext))
/// let inference = InferenceGRPCClient(client: grpc, authorizationToken: token)
/// let group = ServiceGroup(services: [inference, edge], logger: logger)
/// ```
package struct InferenceGRPCClient<Transport: ClientTransport>: InferenceService, Service {
    private let grpcClient: GRPCClient<Transport>
    private let client: Sluice_Inference_V1_InferenceService.Client<Transport>
    private let timeout: Duration
    private let streamTimeout: Duration
    private let authorization: String?
    private let streamJobs = JobQueue<ChatStreamJob>()
    private let carrier: (any InferenceCallCarrier)?
    private let executor: (any TaskExecutor)?

    /// Creates a client.
    ///
    /// The client does nothing until ``run()`` runs; calls made before wait for it.
    ///
    /// - Parameters:
    ///   - client: The gRPC client for the inference service's address. ``run()`` runs its connections; do not run
    ///     them elsewhere.
    ///   - timeout: The deadline of each unary call (chat, models, token counts).
    ///   - streamTimeout: The deadline of a whole chat stream, from opening to its last event.
    ///   - authorizationToken: The shared internal token, sent as `authorization: Bearer <token>`; `nil` sends none.
    ///   - executor: Where the connections and the chat streams run; pass the executor of the event loop the
    ///     transport and the callers use, so a streamed event does not change threads on its way to the caller.
    ///   - carrier: What carries chat calls instead of one RPC each; `nil` makes one RPC per call.
    package init(
        client: GRPCClient<Transport>,
        timeout: Duration = .seconds(30),
        streamTimeout: Duration = .seconds(600),
        authorizationToken: String? = nil,
        executor: (any TaskExecutor)? = nil,
        carrier: (any InferenceCallCarrier)? = nil
    ) {
        self.executor = executor
        self.carrier = carrier
        self.grpcClient = client
        self.client = Sluice_Inference_V1_InferenceService.Client(wrapping: client)
        self.timeout = timeout
        self.streamTimeout = streamTimeout
        self.authorization = authorizationToken.map { "Bearer \($0)" }
    }

    /// Runs the connections and the chat streams until graceful shutdown or cancellation.
    ///
    /// On graceful shutdown (or ``beginGracefulShutdown()``), new streams are refused, open streams run to their
    /// end, and then the connections close once in-flight unary calls have finished. Cancellation cancels every
    /// stream; their consumers see ``InferenceError/Code/cancelled``.
    package func run() async throws {
        try await withTaskExecutorPreference(executor) { try await runPreferringExecutor() }
    }

    private func runPreferringExecutor() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await grpcClient.runConnections() }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await withDiscardingTaskGroup { streams in
                        if let carrier {
                            let longestCall = max(timeout, streamTimeout)
                            let metadata = metadata(requestID: "")
                            streams.addTask {
                                await carrier.run(client: client, longestCall: longestCall, metadata: metadata)
                            }
                        }
                        while let job = await streamJobs.next() {
                            streams.addTask { await job.run(with: client) }
                        }
                    }
                } onCancel: {
                    stopAccepting()
                }
            } onGracefulShutdown: {
                stopAccepting()
            }
            grpcClient.beginGracefulShutdown()
        }
    }

    /// Starts a graceful shutdown without a `ServiceGroup`: as if the group had signalled it to ``run()``.
    package func beginGracefulShutdown() {
        stopAccepting()
    }

    private func stopAccepting() {
        streamJobs.finish()
        carrier?.shutdown()
    }

    /// Answers a chat request in one piece with the remote service.
    ///
    /// - Parameter request: The request.
    /// - Returns: The answer.
    /// - Throws: ``InferenceError``.
    package func chat(_ request: ChatRequest) async throws -> ChatResponse {
        let message = Sluice_Inference_V1_ChatRequest(request)
        if let carrier { return try await carrier.chat(message, timeout: timeout) }
        let metadata = metadata(requestID: request.requestID)
        let options = callOptions(timeout: timeout)
        let response = try await Self.mappingErrors {
            try await client.chat(message, metadata: metadata, options: options)
        }
        return try ChatResponse(proto: response)
    }

    /// Opens a streamed answer with the remote service.
    ///
    /// Returns once the server's `start` arrived, so ``ChatStream/servedBy`` is known. Stop iterating the events (and
    /// drop the stream) to cancel the RPC.
    ///
    /// - Parameter request: The request.
    /// - Returns: The open stream; its events end with the server's ``InferenceError`` when the stream fails.
    /// - Throws: ``InferenceError`` when the stream could not start, including `upstreamUnavailable` after shutdown.
    package func openChatStream(_ request: ChatRequest) async throws -> ChatStream {
        if let carrier {
            return try await carrier.openChatStream(Sluice_Inference_V1_ChatRequest(request), timeout: streamTimeout)
        }
        let job = ChatStreamJob(
            request: ClientRequest(
                message: Sluice_Inference_V1_ChatRequest(request),
                metadata: metadata(requestID: request.requestID)
            ),
            options: callOptions(timeout: streamTimeout)
        )
        return try await job.open { streamJobs.enqueue(job) }
    }

    /// Lists the remote service's models.
    ///
    /// - Returns: Every model, in the server's order.
    /// - Throws: ``InferenceError``.
    package func listModels() async throws -> [ModelDescriptor] {
        let options = callOptions(timeout: timeout)
        let metadata = metadata(requestID: "")
        let response = try await Self.mappingErrors {
            try await client.listModels(Sluice_Inference_V1_ListModelsRequest(), metadata: metadata, options: options)
        }
        return response.models.map(ModelDescriptor.init(proto:))
    }

    /// Counts tokens with the remote service.
    ///
    /// - Parameter request: The model and what to count.
    /// - Returns: The count.
    /// - Throws: ``InferenceError``.
    package func countTokens(_ request: TokenCountRequest) async throws -> TokenCountResult {
        let message = Sluice_Inference_V1_CountTokensRequest(request)
        let options = callOptions(timeout: timeout)
        let metadata = metadata(requestID: "")
        let response = try await Self.mappingErrors {
            try await client.countTokens(message, metadata: metadata, options: options)
        }
        return TokenCountResult(proto: response)
    }

    private func callOptions(timeout: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    private func metadata(requestID: String) -> Metadata {
        var metadata: Metadata = [:]
        if let authorization { metadata.addString(authorization, forKey: "authorization") }
        if !requestID.isEmpty { metadata.addString(requestID, forKey: "x-request-id") }
        return metadata
    }

    private static func mappingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            throw InferenceError(wireError: error)
        }
    }
}
