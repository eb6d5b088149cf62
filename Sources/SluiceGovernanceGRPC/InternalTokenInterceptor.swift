package import GRPCCore

/// Rejects calls that do not present the mesh's shared internal token.
///
/// With a token configured, every call must carry `authorization: Bearer <token>`; any other call ends with
/// `UNAUTHENTICATED` before its handler runs. The comparison takes the same time wherever the first difference is.
/// Without a token, every call passes (the single-process and loopback setups). Scope it with `ConditionalInterceptor`
/// to leave the health service open.
///
/// ```swift
/// let server = GRPCServer(
///     transport: transport,
///     services: [GovernanceGRPCService(service: local)],
///     interceptors: [InternalTokenInterceptor(token: configuration.internalToken)]
/// )
/// ```
package struct InternalTokenInterceptor: ServerInterceptor {
    private let expected: [UInt8]?

    /// Creates the interceptor.
    ///
    /// - Parameters:
    ///   - token: The shared internal token, without `Bearer `; `nil` or empty lets every call pass.
    package init(token: String?) {
        self.expected = token.flatMap { $0.isEmpty ? nil : Array("Bearer \($0)".utf8) }
    }

    /// Checks the call's `authorization` metadata, then continues with the next interceptor or the handler.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - context: The call's context.
    ///   - next: The rest of the chain.
    /// - Returns: The response of the rest of the chain.
    /// - Throws: `RPCError(code: .unauthenticated)` when the token is missing or wrong.
    package func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if let expected {
            let presented = request.metadata[stringValues: "authorization"].first(where: { _ in true })
            guard let presented, Self.constantTimeEquals(Array(presented.utf8), expected) else {
                throw RPCError(code: .unauthenticated, message: "Missing or invalid internal service token")
            }
        }
        return try await next(request, context)
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count) | (lhs.count == rhs.count ? 0 : 1)
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
