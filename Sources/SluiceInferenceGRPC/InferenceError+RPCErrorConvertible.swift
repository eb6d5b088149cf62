package import GRPCCore
package import SluiceInference

/// Trailing-metadata keys that carry an ``InferenceError`` across the wire.
///
/// `retry-after-ms` and `x-sluice-provider` are the names `inference.proto` documents; `sluice-error-code` adds the
/// exact domain code, which a gRPC status code alone cannot tell apart (several codes share `UNAVAILABLE`).
enum InferenceErrorMetadata {
    /// The stable text form of ``InferenceError/Code``.
    static let code = "sluice-error-code"
    /// The upstream's retry hint, in whole milliseconds.
    static let retryAfterMilliseconds = "retry-after-ms"
    /// The provider of the last attempt.
    static let provider = "x-sluice-provider"
}

extension InferenceError: RPCErrorConvertible {
    /// The gRPC status code for this error, as listed at the top of `inference.proto`.
    ///
    /// `stream_interrupted` maps to `UNAVAILABLE`, as the proto requires for a stream cut after `start`; the exact
    /// domain code still travels in the `sluice-error-code` metadata.
    package var rpcErrorCode: RPCError.Code {
        switch code {
        case .invalidRequest: .invalidArgument
        case .modelNotFound: .notFound
        case .upstreamRateLimited: .resourceExhausted
        case .upstreamUnavailable, .upstreamRejected, .streamInterrupted, .circuitOpen: .unavailable
        case .upstreamUnauthorized: .failedPrecondition
        case .upstreamForbidden: .permissionDenied
        case .upstreamTimeout: .deadlineExceeded
        case .cancelled: .cancelled
        case .internal: .internalError
        default: .unknown
        }
    }

    /// The client-safe message, unchanged.
    package var rpcErrorMessage: String { message }

    /// The exact domain code, the retry hint and the provider, as trailing metadata.
    package var rpcErrorMetadata: Metadata {
        var metadata: Metadata = [:]
        metadata.addString(code.rawValue, forKey: InferenceErrorMetadata.code)
        if let retryAfter {
            let milliseconds =
                retryAfter.components.seconds * 1000 + retryAfter.components.attoseconds / 1_000_000_000_000_000
            metadata.addString(String(milliseconds), forKey: InferenceErrorMetadata.retryAfterMilliseconds)
        }
        if let provider {
            metadata.addString(provider, forKey: InferenceErrorMetadata.provider)
        }
        return metadata
    }

    /// Rebuilds a domain error from an error a gRPC call threw.
    ///
    /// An `RPCError` carrying `sluice-error-code` becomes the same ``InferenceError`` the server threw (code,
    /// message, retry hint and provider). Any other failure is one of reaching the service, not of the request: a
    /// passed deadline is ``InferenceError/Code/upstreamTimeout``, cancellation is ``InferenceError/Code/cancelled``,
    /// everything else ``InferenceError/Code/upstreamUnavailable``.
    ///
    /// - Parameter error: What the call threw.
    package init(wireError error: any Error) {
        switch error {
        case let error as InferenceError:
            self = error
        case let error as RPCError:
            self.init(rpcError: error)
        case is CancellationError:
            self.init(.cancelled, "The call to the inference service was cancelled")
        default:
            self.init(.upstreamUnavailable, "The inference service could not be reached: \(error)")
        }
    }

    private init(rpcError error: RPCError) {
        let metadata = error.metadata
        let retryAfter = metadata[stringValues: InferenceErrorMetadata.retryAfterMilliseconds]
            .first(where: { _ in true })
            .flatMap { Int64($0) }
            .map { Duration.milliseconds($0) }
        let provider = metadata[stringValues: InferenceErrorMetadata.provider].first(where: { _ in true })
        if let raw = metadata[stringValues: InferenceErrorMetadata.code].first(where: { _ in true }),
            let code = Code(rawValue: raw)
        {
            self.init(code, error.message, retryAfter: retryAfter, provider: provider)
            return
        }
        let code: Code =
            switch error.code {
            case .deadlineExceeded: .upstreamTimeout
            case .cancelled: .cancelled
            case .resourceExhausted: .upstreamRateLimited
            default: .upstreamUnavailable
            }
        let message = "The inference service failed: \(error.code): \(error.message)"
        self.init(code, message, retryAfter: retryAfter, provider: provider)
    }
}
