import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SluiceGovernance
import SluiceInference

/// Gives every request an id, shapes every error (as an OpenAI error object, or as RFC 9457 problem details on the
/// native `/api/` routes), and records request metrics.
///
/// A well-formed incoming `X-Request-Id` (1 to 128 visible ASCII characters) is kept; otherwise a new one is
/// made. The id goes back on every response, errors included.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = EdgeRequestContext

    /// Where the causes of server-side failures (5xx) are logged; clients see only a safe message.
    let logger: Logger

    func handle(
        _ request: Request,
        context: EdgeRequestContext,
        next: (Request, EdgeRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.receivedAt = .now
        context.requestID = Self.requestID(from: request.headers[EdgeHeaders.requestID])
        var response: Response
        do {
            response = try await next(request, context)
            response.headers[EdgeHeaders.requestID] = context.requestID
        } catch {
            var extraHeaders = HTTPFields()
            var cause = error
            if let annotated = error as? ErrorWithHeaders {
                extraHeaders = annotated.headers
                cause = annotated.error
            } else if let refused = error as? GovernanceError {
                extraHeaders = RateLimitHeaders.fields(requests: refused.requestLimit, tokens: refused.tokenLimit)
            }
            let shaped = Self.openAIError(for: cause)
            response =
                request.uri.path.hasPrefix("/api/")
                ? shaped.problemResponse(requestID: context.requestID) : shaped.response(requestID: context.requestID)
            response.headers.append(contentsOf: extraHeaders)
            if response.status.code >= 500 {
                logger.error(
                    "request failed",
                    metadata: [
                        "request_id": "\(context.requestID)", "status": "\(response.status.code)", "error": "\(error)",
                    ]
                )
            }
        }
        let route = context.endpointPath ?? "unmatched"
        EdgeMetrics.request(route: route, status: response.status.code, duration: .now - context.receivedAt)
        return response
    }

    private static func requestID(from header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count), header.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) {
            return header
        }
        return RandomIdentifier.uuid()
    }

    private static func openAIError(for error: any Error) -> OpenAIError {
        if let error = error as? any HTTPResponseError {
            switch error.status {
            case .notFound:
                return OpenAIError(
                    .notFound,
                    type: "invalid_request_error",
                    code: "unknown_url",
                    message: "No such route"
                )
            case .methodNotAllowed:
                return OpenAIError(
                    .methodNotAllowed,
                    type: "invalid_request_error",
                    code: "method_not_allowed",
                    message: "Method not allowed for this route"
                )
            default:
                break
            }
        }
        return OpenAIError(error)
    }
}
