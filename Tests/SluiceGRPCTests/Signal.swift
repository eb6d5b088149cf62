import Synchronization

/// A one-shot event a test can wait for with a bounded wait.
final class Signal: Sendable {
    private struct State {
        var fired = false
        var waitersReleased = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The wait ran out before the event happened.
    struct TimedOut: Error {}

    private let state = Mutex(State())

    /// Whether the event happened.
    var hasFired: Bool { state.withLock { $0.fired } }

    /// Marks the event as happened and wakes every waiter.
    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the event happened.
    ///
    /// - Parameter timeout: How long to wait at most.
    /// - Throws: ``TimedOut`` when the event did not happen in time.
    func wait(timeout: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state in
                            if state.fired || state.waitersReleased { return true }
                            state.waiters.append(continuation)
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.releaseWaiters()
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut()
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func releaseWaiters() {
        let waiters = state.withLock { state in
            state.waitersReleased = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
