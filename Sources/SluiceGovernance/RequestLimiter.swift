import Synchronization

/// Requests-per-minute limits of any number of scopes, in process, by the generic cell rate algorithm.
///
/// A scope with a limit of `n` requests per minute admits a request every `60/n` seconds on average and holds up to
/// `n` at once: a burst of `n`, then one per interval. There are no window boundaries, so no burst of `2n` across
/// one. A request is admitted only when every scope it counts against admits it, and then it counts against each,
/// all under one lock, so concurrent requests never overshoot a limit.
package final class RequestLimiter: Sendable {
    /// A scope and its limit.
    package struct Limit: Sendable, Hashable {
        /// The scope, as ``Policy/Scope/description`` names it.
        package var scope: String
        /// Requests per minute.
        package var perMinute: Int

        /// Creates a limit.
        package init(scope: String, perMinute: Int) {
            self.scope = scope
            self.perMinute = perMinute
        }

        var interval: Duration { .seconds(60) / perMinute }
    }

    /// What a scope's limit looks like after a decision: the tightest scope's, for `x-ratelimit-*-requests`.
    package struct State: Sendable, Hashable {
        /// Requests per minute.
        package var limit: Int
        /// Requests that could be made now.
        package var remaining: Int
        /// How long until the limit is whole again.
        package var reset: Duration

        /// Creates a state.
        package init(limit: Int, remaining: Int, reset: Duration) {
            self.limit = limit
            self.remaining = remaining
            self.reset = reset
        }
    }

    /// The outcome of ``admit(_:now:)``.
    package enum Decision: Sendable, Hashable {
        /// Admitted and counted; the tightest scope's state, `nil` when no limit applies.
        case admitted(State?)
        /// Refused: the state of the scope that refused, and how long until a request could be admitted.
        case refused(State, retryAfter: Duration)
    }

    private let theoreticalArrivals = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Creates a limiter with no history.
    package init() {}

    /// Admits a request against every limit, or refuses it without counting it anywhere.
    ///
    /// - Parameters:
    ///   - limits: The limits the request counts against.
    ///   - now: The current time.
    /// - Returns: The decision.
    package func admit(_ limits: [Limit], now: ContinuousClock.Instant = .now) -> Decision {
        guard !limits.isEmpty else { return .admitted(nil) }
        return theoreticalArrivals.withLock { arrivals in
            var next: [(String, ContinuousClock.Instant, State)] = []
            for limit in limits {
                let window = Duration.seconds(60)
                let arrival = max(arrivals[limit.scope] ?? now, now)
                let advanced = arrival + limit.interval
                let allowedAt = advanced - window
                if now < allowedAt {
                    let state = State(limit: limit.perMinute, remaining: 0, reset: arrival - now)
                    return .refused(state, retryAfter: allowedAt - now)
                }
                let remaining = Int(((now + window) - advanced) / limit.interval)
                next.append(
                    (limit.scope, advanced, State(limit: limit.perMinute, remaining: remaining, reset: advanced - now))
                )
            }
            for (scope, arrival, _) in next { arrivals[scope] = arrival }
            if arrivals.count > 100_000 { arrivals = arrivals.filter { $0.value > now } }
            return .admitted(next.map(\.2).min { $0.remaining < $1.remaining })
        }
    }
}
