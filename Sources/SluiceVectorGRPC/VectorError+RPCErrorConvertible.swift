package import GRPCCore
package import SluiceVector

/// Trailing-metadata keys that carry a ``VectorError`` across the wire.
enum VectorErrorMetadata {
    /// The stable text form of ``VectorError/Code``, as the other services send it.
    static let code = "sluice-error-code"
}

extension VectorError: RPCErrorConvertible {
    /// The gRPC status code for this error, as listed at the top of `vector.proto`.
    package var rpcErrorCode: RPCError.Code {
        switch code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        case .internal: .internalError
        default: .unknown
        }
    }

    /// The caller-safe message, unchanged.
    package var rpcErrorMessage: String { message }

    /// The exact domain code, as `sluice-error-code` trailing metadata.
    package var rpcErrorMetadata: Metadata {
        [VectorErrorMetadata.code: .string(code.rawValue)]
    }

    /// Rebuilds a domain error from an error a gRPC call threw.
    ///
    /// An `RPCError` carrying a known `sluice-error-code` becomes the same ``VectorError`` the server threw. Without
    /// one, the status code decides, since each domain code has its own status: a server that cannot be reached or
    /// misses the deadline is ``VectorError/Code/unavailable``, any status the contract does not list (a rejected
    /// internal token, `UNIMPLEMENTED`) is ``VectorError/Code/internal``.
    ///
    /// - Parameter error: What the call threw; must not be a `CancellationError`, which callers rethrow as is.
    package init(wireError error: any Error) {
        switch error {
        case let error as VectorError:
            self = error
        case let error as RPCError:
            if let raw = error.metadata[stringValues: VectorErrorMetadata.code].first(where: { _ in true }),
                let code = VectorError.Code(rawValue: raw)
            {
                self.init(code, error.message)
                return
            }
            switch error.code {
            case .invalidArgument: self.init(.invalidArgument, error.message)
            case .notFound: self.init(.notFound, error.message)
            case .alreadyExists: self.init(.alreadyExists, error.message)
            case .failedPrecondition: self.init(.failedPrecondition, error.message)
            case .resourceExhausted: self.init(.resourceExhausted, error.message)
            case .unavailable, .deadlineExceeded:
                self.init(.unavailable, "The vector service could not be reached: \(error.code): \(error.message)")
            default:
                self.init(.internal, "The vector service failed: \(error.code): \(error.message)")
            }
        default:
            self.init(.unavailable, "The vector service could not be reached: \(error)")
        }
    }
}
