import HTTPTypes
import Hummingbird
import SluiceGovernance
import SluiceInference

/// `GET /v1/models`: the configured models this key may use, sorted by id.
struct ModelsRoute: EdgeRoute {
    static let method = HTTPRequest.Method.get
    static let path = "/v1/models"
    static let operation = AuthorizationRequest.Operation.listModels

    func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws {}

    func subject(of call: Void) -> RouteSubject { RouteSubject() }

    func respond(to call: Void, in exchange: RouteExchange) async throws -> RouteAnswer {
        let models = try await exchange.timed { try await exchange.services.inference.listModels() }
        let allowed = models.filter { exchange.authorization.allows(model: $0.id) }.sorted { $0.id < $1.id }
        return .complete(RouteBody(bytes: OpenAIChatEncoding.models(allowed), metered: nil))
    }
}
