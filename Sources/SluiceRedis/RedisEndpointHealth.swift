/// Whether a client's Redis is reachable, as its connections find it: whether calls fail fast, when to try
/// connecting again, and what to log.
///
/// A value-type state machine (STYLE §5), shared by all connections of a client (``RedisHealthMonitor`` holds it
/// under a lock): connection threads report events, callers ask ``failFast(at:)`` before queueing, and each event
/// answers what to log, so an outage logs one warning and the recovery one info, however many connections and
/// commands fail in between.
///
/// After a failed connection attempt calls fail fast for ``RedisConfiguration/minimumReconnectDelay``; each further
/// failure doubles the wait up to ``RedisConfiguration/maximumReconnectDelay``; a success resets it. A connection
/// that breaks while up (reset, closed, timed out) is retried at once by its next batch.
struct RedisEndpointHealth: Sendable {
    /// Whether Redis has ever been reached, and whether it is now.
    enum Phase: Sendable, Equatable {
        /// Never connected, never failed.
        case new
        /// The last connection attempt succeeded, and no connection has failed since.
        case up
        /// A connection attempt, or an open connection, failed last.
        case down
    }

    /// What to log after an event.
    enum LogAction: Sendable, Equatable {
        /// Nothing worth a line (a further failure during an outage).
        case none
        /// The first connection: debug.
        case connected
        /// The connection was lost, or the first attempt failed: one warning per outage.
        case lost
        /// Connected again after an outage: one info.
        case recovered
    }

    /// Why the client fails a call without trying.
    struct FailFast: Sendable, Equatable {
        /// The last failure.
        var reason: String
        /// How long until the next connection attempt.
        var retryIn: Duration
    }

    private(set) var phase = Phase.new
    /// Until when calls fail fast; `nil` when the next batch may connect.
    private(set) var retryAt: ContinuousClock.Instant?
    /// The wait after the next failed attempt.
    private(set) var nextDelay: Duration
    private var lastFailure = ""
    private let minimumDelay: Duration
    private let maximumDelay: Duration

    /// Creates the state of a client that has not connected yet.
    ///
    /// - Parameters:
    ///   - minimumDelay: The wait after the first failed attempt.
    ///   - maximumDelay: The longest wait.
    init(minimumDelay: Duration, maximumDelay: Duration) {
        self.minimumDelay = minimumDelay
        self.maximumDelay = maximumDelay
        self.nextDelay = minimumDelay
    }

    /// Whether a call should fail now without trying, and why.
    ///
    /// - Parameter now: The current time.
    /// - Returns: The reason and the time left, or `nil` when the call may use a connection (or try to make one).
    func failFast(at now: ContinuousClock.Instant) -> FailFast? {
        guard let retryAt, now < retryAt else { return nil }
        return FailFast(reason: lastFailure, retryIn: now.duration(to: retryAt))
    }

    /// A new connection was established and Redis has answered on it.
    ///
    /// - Returns: What to log.
    mutating func connected() -> LogAction {
        defer {
            phase = .up
            retryAt = nil
            nextDelay = minimumDelay
        }
        switch phase {
        case .new: return .connected
        case .down: return .recovered
        case .up: return .none
        }
    }

    /// A connection attempt failed: calls fail fast until the delay passes, and the delay doubles.
    ///
    /// - Parameters:
    ///   - reason: Why, for the errors of calls failed fast; never the password.
    ///   - now: The current time.
    /// - Returns: What to log.
    mutating func connectFailed(_ reason: String, at now: ContinuousClock.Instant) -> LogAction {
        defer {
            phase = .down
            lastFailure = reason
            retryAt = now.advanced(by: nextDelay)
            nextDelay = min(nextDelay * 2, maximumDelay)
        }
        return phase == .down ? .none : .lost
    }

    /// An open connection failed (reset, closed by Redis, timed out, unreadable reply); its next batch reconnects
    /// at once.
    ///
    /// - Parameter reason: Why.
    /// - Returns: What to log.
    mutating func dropped(_ reason: String) -> LogAction {
        defer {
            phase = .down
            lastFailure = reason
            retryAt = nil
        }
        return phase == .up ? .lost : .none
    }
}
