import GRPCCore

extension ServerContext {
    /// Runs an operation and cancels it when gRPC cancels the RPC.
    ///
    /// gRPC signals a passed deadline, a vanished client or a server shutdown through ``cancellation`` rather than
    /// by cancelling the handler's task, so the operation runs in a child task next to a watcher: whichever ends
    /// first ends the other.
    ///
    /// - Parameter operation: The work of the handler.
    /// - Returns: What the operation returned.
    /// - Throws: What the operation threw, or `RPCError(code: .cancelled)` when the RPC was cancelled first.
    func cancellingWhenRPCCancelled<Result: Sendable>(
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await self.cancellation.cancelled
                print("DEBUG server RPC cancelled")
                throw RPCError(code: .cancelled, message: "The RPC was cancelled")
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() else {
                throw RPCError(code: .internalError, message: "The handler ended without a result")
            }
            return result
        }
    }
}
