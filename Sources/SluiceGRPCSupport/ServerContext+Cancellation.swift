package import GRPCCore

extension ServerContext {
    /// Runs an operation and cancels it when gRPC cancels the RPC, except while the server drains.
    ///
    /// gRPC signals a passed deadline, a vanished client or a server shutdown through `cancellation` rather than
    /// by cancelling the handler's task, so the operation runs in a child task next to a watcher: whichever ends
    /// first ends the other. A signal that arrives while `drain` says the server is draining is the shutdown's own
    /// quiesce, and the operation is left to finish.
    ///
    /// - Parameters:
    ///   - drain: The server's drain flag, or `nil` to treat every signal as a cancellation.
    ///   - operation: The work of the handler.
    /// - Returns: What the operation returned.
    /// - Throws: What the operation threw, or `RPCError(code: .cancelled)` when the RPC was cancelled first.
    package func cancellingWhenRPCCancelled<Result: Sendable>(
        drain: ServerDrain?,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await self.cancellation.cancelled
                if drain?.isDraining == true { return nil }
                throw RPCError(code: .cancelled, message: "The RPC was cancelled")
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let result = finished { return result }
            }
            throw RPCError(code: .internalError, message: "The handler ended without a result")
        }
    }
}
