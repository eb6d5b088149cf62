import Foundation
package import HTTPTypes
package import Hummingbird
import SluiceGovernance
import SluiceInference

/// An error as the OpenAI-compatible routes report it: a status, OpenAI's error object, and extra headers.
///
/// Every failure of a `/v1` route becomes one of these, so OpenAI SDKs raise their usual exception types:
/// 400 `invalid_request_error`, 401 `invalid_api_key`, 403 `model_not_allowed`, 404 `model_not_found`,
/// 413 `request_too_large`, 429 `rate_limit_exceeded`, `insufficient_quota` or `upstream_rate_limited` (with
/// `Retry-After` when waiting helps), 502 `upstream_error`,
/// 503 `upstream_unavailable` or `governance_unavailable`, 504 `upstream_timeout`.
package struct OpenAIError: Error, Sendable {
    /// The HTTP status.
    package var status: HTTPResponse.Status
    /// OpenAI's `error.type`.
    package var type: String
    /// OpenAI's `error.code`.
    package var code: String
    /// A message for the developer; it never contains credentials.
    package var message: String
    /// The request parameter at fault, if any.
    package var param: String?
    /// Seconds for `Retry-After`, if any.
    package var retryAfterSeconds: Int?
    /// `x-should-retry`, which OpenAI's SDKs obey before any other rule; `nil` leaves it out.
    package var shouldRetry: Bool?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - type: OpenAI's `error.type`.
    ///   - code: OpenAI's `error.code`.
    ///   - message: A message for the developer.
    ///   - param: The parameter at fault.
    ///   - retryAfterSeconds: Seconds for `Retry-After`.
    package init(
        _ status: HTTPResponse.Status,
        type: String,
        code: String,
        message: String,
        param: String? = nil,
        retryAfterSeconds: Int? = nil
    ) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A 400 for an invalid parameter.
    ///
    /// - Parameters:
    ///   - message: What is wrong.
    ///   - param: The parameter at fault.
    /// - Returns: The error.
    package static func invalidParameter(_ message: String, param: String?) -> OpenAIError {
        OpenAIError(
            .badRequest,
            type: "invalid_request_error",
            code: "invalid_parameter",
            message: message,
            param: param
        )
    }

    /// Maps any error thrown while serving a request.
    ///
    /// - Parameter error: The error.
    /// - Returns: Its OpenAI form; unknown errors become a 500 whose message hides the details.
    package init(_ error: any Error) {
        switch error {
        case let error as OpenAIError:
            self = error
        case let error as InferenceError:
            self.init(inference: error)
        case let error as GovernanceError:
            self.init(governance: error)
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            self.init(
                .contentTooLarge,
                type: "invalid_request_error",
                code: "request_too_large",
                message: "The request body is too large"
            )
        default:
            self.init(
                .internalServerError,
                type: "server_error",
                code: "internal_error",
                message: "Sluice failed to handle the request"
            )
        }
    }

    private init(inference error: InferenceError) {
        let seconds = error.retryAfter.map { Int(($0.components.seconds) + ($0.components.attoseconds > 0 ? 1 : 0)) }
        switch error.code {
        case .invalidRequest:
            self.init(.badRequest, type: "invalid_request_error", code: "invalid_parameter", message: error.message)
        case .modelNotFound:
            self.init(
                .notFound,
                type: "invalid_request_error",
                code: "model_not_found",
                message: error.message,
                param: "model"
            )
        case .upstreamRateLimited:
            self.init(
                .tooManyRequests,
                type: "rate_limit_error",
                code: "upstream_rate_limited",
                message: error.message,
                retryAfterSeconds: max(1, seconds ?? 1)
            )
        case .upstreamTimeout:
            self.init(.gatewayTimeout, type: "upstream_error", code: "upstream_timeout", message: error.message)
        case .circuitOpen:
            self.init(
                .serviceUnavailable,
                type: "upstream_error",
                code: "upstream_unavailable",
                message: error.message,
                retryAfterSeconds: seconds
            )
        case .cancelled:
            self.init(
                .init(code: 499, reasonPhrase: "Client Closed Request"),
                type: "invalid_request_error",
                code: "cancelled",
                message: error.message
            )
        case .internal:
            self.init(.internalServerError, type: "server_error", code: "internal_error", message: error.message)
        default:
            self.init(.badGateway, type: "upstream_error", code: "upstream_error", message: error.message)
        }
    }

    private init(governance error: GovernanceError) {
        switch error.code {
        case .unauthenticated, .revoked:
            self.init(.unauthorized, type: "invalid_request_error", code: "invalid_api_key", message: error.message)
        case .modelNotAllowed:
            self.init(
                .forbidden,
                type: "permission_error",
                code: "model_not_allowed",
                message: error.message,
                param: "model"
            )
        case .permissionDenied:
            self.init(.forbidden, type: "permission_error", code: "permission_denied", message: error.message)
        case .routeNotAllowed:
            self.init(.forbidden, type: "permission_error", code: "route_not_allowed", message: error.message)
        case .notFound:
            self.init(.notFound, type: "invalid_request_error", code: "not_found", message: error.message)
        case .invalidArgument:
            self.init(.badRequest, type: "invalid_request_error", code: "invalid_parameter", message: error.message)
        case .rateLimited:
            // OpenAI names the limit in `type`; a request larger than the limit gets no Retry-After.
            self.init(
                .tooManyRequests,
                type: error.tokenLimit != nil ? "tokens" : "requests",
                code: "rate_limit_exceeded",
                message: error.message,
                retryAfterSeconds: error.retryAfter.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }
            )
            if error.retryAfter == nil { shouldRetry = false }
        case .budgetExhausted:
            // As OpenAI answers an exhausted quota; SDKs must not retry it (`x-should-retry: false`).
            self.init(
                .tooManyRequests,
                type: "insufficient_quota",
                code: "insufficient_quota",
                message: error.message,
                retryAfterSeconds: error.retryAfter.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }
            )
            shouldRetry = false
        case .unavailable:
            self.init(
                .serviceUnavailable,
                type: "server_error",
                code: "governance_unavailable",
                message: error.message.isEmpty
                    ? "Sluice cannot check credentials right now; try again shortly" : error.message,
                retryAfterSeconds: 1
            )
        default:
            self.init(.internalServerError, type: "server_error", code: "internal_error", message: "Governance failed")
        }
    }

    /// The JSON body: `{"error": {"message", "type", "param", "code"}}`.
    package var body: [UInt8] {
        struct Envelope: Encodable {
            struct Body: Encodable {
                var message: String
                var type: String
                var param: String?
                var code: String

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(message, forKey: .message)
                    try container.encode(type, forKey: .type)
                    try container.encode(param, forKey: .param)
                    try container.encode(code, forKey: .code)
                }

                enum CodingKeys: String, CodingKey { case message, type, param, code }
            }
            var error: Body
        }
        let envelope = Envelope(error: .init(message: message, type: type, param: param, code: code))
        return Array((try? JSONEncoder().encode(envelope)) ?? Data())
    }

    /// The error as RFC 9457 problem details (`application/problem+json`), the error shape of the native
    /// `/api/v1/*` routes: `type` (`about:blank`), `title` (the status's reason), `status`, `detail` (the message),
    /// and the members `code`, `param` (when there is one) and `request_id`.
    ///
    /// - Parameter requestID: The request id for `X-Request-Id` and the `request_id` member.
    /// - Returns: The response.
    package func problemResponse(requestID: String) -> Response {
        struct Problem: Encodable {
            var type = "about:blank"
            var title: String
            var status: Int
            var detail: String
            var code: String
            var param: String?
            var requestID: String

            enum CodingKeys: String, CodingKey {
                case type, title, status, detail, code, param
                case requestID = "request_id"
            }
        }
        let problem = Problem(
            title: status.reasonPhrase,
            status: status.code,
            detail: message,
            code: code,
            param: param,
            requestID: requestID
        )
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        headers[EdgeHeaders.requestID] = requestID
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let shouldRetry { headers[EdgeHeaders.shouldRetry] = shouldRetry ? "true" : "false" }
        let bytes = Array((try? JSONEncoder().encode(problem)) ?? Data())
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The error as an HTTP response.
    ///
    /// - Parameter requestID: The request id for `X-Request-Id`.
    /// - Returns: The response.
    package func response(requestID: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[EdgeHeaders.requestID] = requestID
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let shouldRetry { headers[EdgeHeaders.shouldRetry] = shouldRetry ? "true" : "false" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The names of Sluice's own headers.
package enum EdgeHeaders {
    /// `X-Request-Id`, in and out.
    package static let requestID = HTTPField.Name("X-Request-Id")!
    /// `X-Sluice-Provider`: the provider that answered.
    package static let provider = HTTPField.Name("X-Sluice-Provider")!
    /// `X-Sluice-Model`: the upstream model that answered.
    package static let model = HTTPField.Name("X-Sluice-Model")!
    /// `X-Sluice-Overhead-Ms`: time spent in Sluice itself, excluding the upstream.
    package static let overhead = HTTPField.Name("X-Sluice-Overhead-Ms")!
    /// `X-Sluice-Route`: an explicit `provider/model` override.
    package static let route = HTTPField.Name("X-Sluice-Route")!
    /// `x-should-retry`: whether OpenAI's SDKs should retry an error.
    package static let shouldRetry = HTTPField.Name("x-should-retry")!
}
