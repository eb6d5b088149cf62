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
    /// - Throws: What the operation threw, or `RPCError(code: .deadlineExceeded)` when the RPC was cancelled first.
    package func cancellingWhenRPCCancelled<Result: Sendable>(
        drain: ServerDrain?,
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await self.cancellation.cancelled
                if drain?.isDraining == true { return nil }
                // Outside a drain the signal means the deadline passed or the client left. A client that left never
                // reads the status, so the one who can is a caller whose deadline passed: tell it so.
                throw RPCError(code: .deadlineExceeded, message: "The RPC's deadline passed")
            }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let result = finished { return result }
            }
            throw RPCError(code: .internalError, message: "The handler ended without a result")
        }
    }
}
