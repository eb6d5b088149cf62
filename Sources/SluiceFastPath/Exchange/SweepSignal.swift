import Synchronization

/// Lets a periodic sweeper (a deadline watcher) sleep while there is nothing to sweep.
///
/// Whoever adds work calls ``signal()``; the sweeper waits in ``wait()`` and then sweeps on a timer until nothing is
/// left, and waits again. A signal that comes while nobody waits is kept, so a wake-up is never lost between the
/// sweeper's last look and its wait; a spare one only costs the sweeper one extra look. One waiter at a time.
final class SweepSignal: Sendable {
    private let state = Mutex(State())

    /// Creates a signal with no work pending.
    init() {}

    /// Says that work arrived: wakes the waiting sweeper, or keeps the signal for its next wait.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.isSignalled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// Waits for a signal.
    ///
    /// - Returns: `true` once work arrived, `false` when the waiting task was cancelled.
    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let answer = state.withLock { state -> Bool? in
                    if state.isCancelled { return false }
                    if state.isSignalled {
                        state.isSignalled = false
                        return true
                    }
                    state.waiter = continuation
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                state.isCancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}

extension SweepSignal {
    /// The waiting sweeper, a kept signal, and whether the sweeper's task was cancelled.
    struct State {
        var waiter: CheckedContinuation<Bool, Never>?
        var isSignalled = false
        var isCancelled = false
    }
}
