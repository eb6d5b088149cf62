package import GRPCCore
package import SluiceGovernance

extension GovernanceError: RPCErrorConvertible {
    /// The gRPC status code for this error, as listed at the top of `governance.proto`.
    package var rpcErrorCode: RPCError.Code {
        switch code {
        case .unauthenticated, .revoked: .unauthenticated
        case .modelNotAllowed, .permissionDenied, .routeNotAllowed: .permissionDenied
        case .notFound: .notFound
        case .invalidArgument: .invalidArgument
        case .internal: .internalError
        case .unavailable: .unavailable
        case .rateLimited, .budgetExhausted: .resourceExhausted
        default: .unknown
        }
    }

    /// The caller-safe message, unchanged.
    package var rpcErrorMessage: String { message }

    /// The exact domain code, as `sluice-error-code` trailing metadata.
    package var rpcErrorMetadata: Metadata {
        [GovernanceMetadata.errorCode: .string(code.rawValue)]
    }

    /// Rebuilds a domain error from an error a gRPC call threw.
    ///
    /// An `RPCError` carrying `sluice-error-code` becomes the same ``GovernanceError`` the server threw. A server that
    /// cannot be reached or misses the deadline is ``GovernanceError/Code/unavailable``; anything else (a rejected
    /// internal token, an unexpected status) is ``GovernanceError/Code/internal``. Either way callers fail closed
    /// instead of blaming the end user's credential.
    ///
    /// - Parameter error: What the call threw; must not be a `CancellationError`, which callers rethrow as is.
    package init(wireError error: any Error) {
        switch error {
        case let error as GovernanceError:
            self = error
        case let error as RPCError:
            if let raw = error.metadata[stringValues: GovernanceMetadata.errorCode].first(where: { _ in true }),
                let code = Code(rawValue: raw)
            {
                self.init(code, error.message)
            } else if error.code == .unavailable || error.code == .deadlineExceeded {
                self.init(.unavailable, "The governance service could not be reached: \(error.code): \(error.message)")
            } else {
                self.init(.internal, "The governance service failed: \(error.code): \(error.message)")
            }
        default:
            self.init(.unavailable, "The governance service could not be reached: \(error)")
        }
    }
}
