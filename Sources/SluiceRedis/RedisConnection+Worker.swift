import Synchronization

extension RedisConnection {
    /// The connection thread's loop: sleep until requests are queued, take them all, send them, answer them.
    ///
    /// Runs on the connection's own OS thread, never on a Swift concurrency thread, so hiredis may block here.
    /// The hiredis context lives in this function's frame alone.
    func runWorker() {
        var context: HiredisContext?
        while let batch = nextBatch() {
            process(batch, context: &context)
        }
        context = nil
        let waiters = state.withLock { state in
            state.hasExited = true
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Blocks until requests are queued, then takes all of them; `nil` once the client shuts down.
    private func nextBatch() -> [Request]? {
        while true {
            let batch = state.withLock { state -> [Request]? in
                if state.isStopping { return nil }
                guard !state.queue.isEmpty else {
                    state.isWaiting = true
                    return []
                }
                state.inFlightCommands = state.queuedCommands
                state.queuedCommands = 0
                defer { state.queue = [] }
                return state.queue
            }
            guard let batch else { return nil }
            if !batch.isEmpty { return batch }
            wakeup.wait()
        }
    }

    /// Connects if needed, writes every command of the batch, then reads the replies in order and resumes each
    /// request once its replies are in.
    private func process(_ batch: [Request], context: inout HiredisContext?) {
        defer { state.withLock { $0.inFlightCommands = 0 } }
        if context?.isStale == true {
            drop(&context, reason: "Redis closed the idle connection")
        }
        if context == nil {
            // Requests queued before another connection's attempt failed fail fast too.
            if let error = health.failFastError(at: .now) { return fail(batch[...], with: error) }
            do {
                context = try connect()
            } catch {
                health.connectFailed(error.reason, connection: index)
                return fail(batch[...], with: RedisHealthMonitor.unavailable(configuration.endpoint, error.reason))
            }
        }
        guard let connection = context else { return }
        var answered = 0
        do throws(HiredisContext.Failure) {
            for request in batch {
                for command in request.commands { try connection.append(command) }
            }
            for request in batch {
                var replies: [RedisReply] = []
                replies.reserveCapacity(request.commands.count)
                for _ in request.commands { replies.append(try connection.readReply()) }
                confirm(connection)
                request.continuation.resume(returning: replies)
                answered += 1
                state.withLock { $0.inFlightCommands -= request.commands.count }
            }
        } catch {
            // The reply stream is out of step (or gone): every unanswered request fails, the connection is rebuilt.
            drop(&context, reason: error.reason)
            let failure =
                error.code == .unavailable
                ? RedisHealthMonitor.unavailable(configuration.endpoint, error.reason)
                : RedisError(error.code, "Redis at \(configuration.endpoint): \(error.reason)")
            fail(batch[answered...], with: failure)
        }
    }

    /// Connects, then authenticates and selects the database as the configuration asks.
    private func connect() throws(HiredisContext.Failure) -> HiredisContext {
        let connection = try HiredisContext(
            endpoint: configuration.endpoint,
            connectTimeout: configuration.connectTimeout,
            commandTimeout: configuration.commandTimeout
        )
        var commands: [(name: String, arguments: [String])] = []
        if let password = configuration.password {
            commands.append(("AUTH", ["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password]))
        }
        if configuration.database != 0 {
            commands.append(("SELECT", ["SELECT", String(configuration.database)]))
        }
        for command in commands { try connection.append(command.arguments.map { Array($0.utf8) }) }
        for command in commands {
            if case .error(let message) = try connection.readReply() {
                throw HiredisContext.Failure(code: .unavailable, reason: "\(command.name) failed: \(redacted(message))")
            }
        }
        if !commands.isEmpty { confirm(connection) }
        return connection
    }

    /// Reports a new connection as working once Redis has answered on it (a TCP connection alone proves little:
    /// a stalled Redis still accepts them), so a stall logs one loss and one recovery, not one per reconnect.
    private func confirm(_ connection: HiredisContext) {
        guard !connection.hasAnswered else { return }
        connection.hasAnswered = true
        health.connected(connection: index)
    }

    /// Frees a broken connection, so that the next batch reconnects.
    private func drop(_ context: inout HiredisContext?, reason: String) {
        context = nil
        health.dropped(reason, connection: index)
    }

    private func fail(_ requests: ArraySlice<Request>, with error: RedisError) {
        for request in requests { request.continuation.resume(throwing: error) }
    }

    /// A reply text with the password, should Redis ever echo it, replaced by `***`.
    private func redacted(_ text: String) -> String {
        guard let password = configuration.password, !password.isEmpty else { return text }
        return text.replacing(password, with: "***")
    }
}
