/// An error of the inference service, with a stable, extensible code.
///
/// The edge maps each code to an HTTP status and an OpenAI error object; the gRPC adapter maps it to a
/// status code and back, so the same error reaches a client whether the service runs in process or remote.
package struct InferenceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package var code: Code
    /// A message safe to show to the client: it never contains credentials.
    package var message: String
    /// When the caller may try again, if the upstream said so (`Retry-After`).
    package var retryAfter: Duration?
    /// The provider involved, if any.
    package var provider: String?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: A message safe to show to the client.
    ///   - retryAfter: When the caller may try again.
    ///   - provider: The provider involved.
    package init(_ code: Code, _ message: String, retryAfter: Duration? = nil, provider: String? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.provider = provider
    }

    /// A readable form, for logs and error messages.
    package var description: String { "\(code): \(message)" }

    /// Whether another attempt at the same deployment may succeed: connect errors, 429 and 5xx.
    package var isRetryable: Bool {
        code == .upstreamRateLimited || code == .upstreamUnavailable
    }

    /// Whether the next deployment of a fallback chain should be tried after this error.
    ///
    /// Errors in the request itself are not: another provider would reject it too.
    package var allowsFallback: Bool {
        switch code {
        case .invalidRequest, .modelNotFound, .cancelled: false
        default: true
        }
    }
}

extension InferenceError {
    /// The kind of an ``InferenceError``; new codes can be added without breaking callers.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case invalidRequest = "invalid_request"
            case modelNotFound = "model_not_found"
            case upstreamRateLimited = "upstream_rate_limited"
            case upstreamUnavailable = "upstream_unavailable"
            case upstreamRejected = "upstream_rejected"
            case upstreamUnauthorized = "upstream_unauthorized"
            case upstreamForbidden = "upstream_forbidden"
            case upstreamTimeout = "upstream_timeout"
            case streamInterrupted = "stream_interrupted"
            case circuitOpen = "circuit_open"
            case cancelled
            case `internal`
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The stable text form, used on the wire between services.
        package var rawValue: String { wrapped.rawValue }

        /// Reads a code from its text form.
        ///
        /// - Parameter rawValue: The text form of a code.
        package init?(rawValue: String) {
            guard let wrapped = Wrapped(rawValue: rawValue) else { return nil }
            self.wrapped = wrapped
        }

        /// A readable form, for logs and error messages.
        package var description: String { wrapped.rawValue }

        /// The request is malformed or has invalid parameters, or the upstream rejected it as such.
        package static let invalidRequest = Code(.invalidRequest)
        /// No model of that name is configured.
        package static let modelNotFound = Code(.modelNotFound)
        /// The upstream answered 429 and retries did not help.
        package static let upstreamRateLimited = Code(.upstreamRateLimited)
        /// The upstream could not be reached or answered 5xx.
        package static let upstreamUnavailable = Code(.upstreamUnavailable)
        /// The upstream refused the call with a status Sluice has no better code for (a redirect, 404, 409…).
        package static let upstreamRejected = Code(.upstreamRejected)
        /// The upstream refused Sluice's own credentials (HTTP 401): an operator problem, never the end user's.
        package static let upstreamUnauthorized = Code(.upstreamUnauthorized)
        /// The upstream refused the call for policy reasons (HTTP 403).
        package static let upstreamForbidden = Code(.upstreamForbidden)
        /// The upstream did not answer within the connect, first-token or total timeout.
        package static let upstreamTimeout = Code(.upstreamTimeout)
        /// A stream broke after its first event reached the client.
        package static let streamInterrupted = Code(.streamInterrupted)
        /// Every deployment of the model is behind an open circuit breaker.
        package static let circuitOpen = Code(.circuitOpen)
        /// The caller went away.
        package static let cancelled = Code(.cancelled)
        /// A bug in Sluice.
        package static let `internal` = Code(.internal)
    }
}
