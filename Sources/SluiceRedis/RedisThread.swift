#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts the dedicated OS threads on which connections do their blocking hiredis I/O.
enum RedisThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts a joinable thread that blocks `SIGPIPE` (a write to a socket Redis closed then fails with `EPIPE`
    /// instead of killing the process) and runs `body`.
    ///
    /// - Parameter body: What the thread runs.
    /// - Returns: The thread, to join (or detach) once `body` has returned.
    static func start(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let result = pthread_create(
            &thread,
            nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGPIPE)
                pthread_sigmask(SIG_BLOCK, &signals, nil)
                body.run()
                return nil
            },
            context
        )
        precondition(result == 0, "pthread_create failed (\(result)) starting a Redis connection thread")
        #if canImport(Glibc)
            return thread
        #else
            return thread!
        #endif
    }
}
