import HTTPTypes
import Hummingbird
import SluiceGovernance
import SluiceInference

/// `GET /v1/models`: the configured models this key may use.
struct ModelsController: Sendable {
    let services: EdgeServices

    func addRoutes(to router: Router<EdgeRequestContext>) {
        router.get("/v1/models") { request, context in
            let credential = try ChatCompletionsController.bearerToken(request)
            let authorization = try await services.governance.authorize(
                AuthorizationRequest(credential: credential, operation: .listModels, requestID: context.requestID)
            )
            let models = try await services.inference.listModels().filter { authorization.allows(model: $0.id) }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAIChatEncoding.models(models)))
            )
        }
    }
}
