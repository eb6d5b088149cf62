package import GRPCCore
package import SluiceGRPCSupport
package import SluiceInference
import SluiceInferenceGRPC
package import SluiceProtos

/// Serves `Exchange` streams with an ``ExchangeSession`` each (`performance.exchange_streams`).
package struct ExchangeStreamServer: InferenceExchangeServer {
    /// Creates the server.
    package init() {}

    /// Serves one stream; see
    /// ``InferenceExchangeServer/serve(service:requests:response:context:drain:executor:)``.
    package func serve(
        service: any InferenceService,
        requests: RPCAsyncSequence<Sluice_Inference_V1_ExchangeRequest, any Error>,
        response: RPCWriter<Sluice_Inference_V1_ExchangeEvent>,
        context: ServerContext,
        drain: ServerDrain?,
        executor: (any TaskExecutor)?
    ) async throws {
        let session = ExchangeSession(service: service, response: response, executor: executor)
        await session.run(requests: requests, context: context, drain: drain)
    }
}
