import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection of a ``RedisClient``: a queue of requests, and the dedicated OS thread that sends them over
/// hiredis's blocking API.
///
/// Callers only take the lock to append a request; the thread takes everything queued, writes all of it, then
/// reads the replies in order and resumes each request's continuation as soon as its replies are in, so
/// concurrent callers are pipelined without asking for it. The thread alone owns the hiredis context (see
/// `RedisConnection+Worker.swift`).
final class RedisConnection: Sendable {
    /// The commands of one call, sent back to back and answered together.
    struct Request: Sendable {
        /// The commands, each a list of binary-safe arguments.
        var commands: [[[UInt8]]]
        /// Resumed with one reply per command, or with a ``RedisError``.
        var continuation: CheckedContinuation<[RedisReply], any Error>
    }

    struct State {
        var queue: [Request] = []
        /// Commands in `queue`.
        var queuedCommands = 0
        /// Commands the thread has taken and not yet answered.
        var inFlightCommands = 0
        /// The thread found the queue empty and sleeps (or is about to) on `wakeup`.
        var isWaiting = false
        var isStopping = false
        /// The thread, until it is joined or detached.
        var thread: pthread_t?
        var hasExited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The connection's number in its client, for logs.
    let index: Int
    let configuration: RedisConfiguration
    let health: RedisHealthMonitor
    let state = Mutex(State())
    let wakeup = WakeupEvent()

    // MARK: - Lifecycle

    /// Creates a connection and starts its thread; it connects when the first request arrives.
    ///
    /// - Parameters:
    ///   - index: The connection's number in its client.
    ///   - configuration: Where and how to connect.
    ///   - health: The client's shared reconnect state, which also logs losses and recoveries.
    init(index: Int, configuration: RedisConfiguration, health: RedisHealthMonitor) {
        self.index = index
        self.configuration = configuration
        self.health = health
        let thread = RedisThread.start { [self] in runWorker() }
        state.withLock { $0.thread = thread }
    }

    /// Stops taking requests and fails those still queued with ``RedisError/Code/shutdown``; the thread finishes
    /// the batch it is sending (bounded by the timeouts), closes the connection and exits. Idempotent.
    func beginShutdown() {
        let queued = state.withLock { state -> [Request] in
            guard !state.isStopping else { return [] }
            state.isStopping = true
            defer {
                state.queue = []
                state.queuedCommands = 0
            }
            return state.queue
        }
        for request in queued { request.continuation.resume(throwing: Self.shutdownError) }
        wakeup.signal()
    }

    /// Waits until the thread has exited, then joins it. Call ``beginShutdown()`` first.
    func waitForExit() async {
        await withCheckedContinuation { continuation in
            let hasExited = state.withLock { state in
                if !state.hasExited { state.exitWaiters.append(continuation) }
                return state.hasExited
            }
            if hasExited { continuation.resume() }
        }
        // The thread has run its last statement; the join only collects it.
        if let thread = state.withLock({ $0.thread.take() }) { pthread_join(thread, nil) }
    }

    /// Shuts down without waiting, for a client released without ``RedisClient/shutdown()``: the thread is
    /// detached and exits on its own once its batch is done.
    func shutdownDetached() {
        beginShutdown()
        if let thread = state.withLock({ $0.thread.take() }) { pthread_detach(thread) }
    }

    // MARK: - Queueing

    /// How many commands wait on this connection, queued or in flight; `nil` once it shuts down.
    var load: Int? {
        state.withLock { $0.isStopping ? nil : $0.queuedCommands + $0.inFlightCommands }
    }

    /// Queues a request, waking the thread if it sleeps.
    ///
    /// - Parameter request: The request.
    /// - Returns: Whether it was queued; `false` once the connection shuts down.
    func enqueue(_ request: Request) -> Bool {
        let outcome = state.withLock { state -> (queued: Bool, wake: Bool) in
            if state.isStopping { return (false, false) }
            state.queue.append(request)
            state.queuedCommands += request.commands.count
            defer { state.isWaiting = false }
            return (true, state.isWaiting)
        }
        if outcome.wake { wakeup.signal() }
        return outcome.queued
    }

    // MARK: - Errors

    /// The error of calls made after shutdown, or queued when it began.
    static let shutdownError = RedisError(.shutdown, "The Redis client is shut down")
}

extension Duration {
    /// The duration in whole milliseconds, rounded up.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
