/// A circuit breaker for one deployment, as a value-type state machine.
///
/// Closed, it counts consecutive failures; at ``threshold`` it opens and rejects calls for ``openDuration``.
/// Then it lets one trial call through (half-open): success closes it, failure opens it again. Time is passed
/// in, so the machine is tested without waiting.
///
/// ```swift
/// var breaker = CircuitBreaker(threshold: 5, openDuration: .seconds(30))
/// if breaker.acquire(now: .now) { /* call, then */ breaker.record(success: false, now: .now) }
/// ```
package struct CircuitBreaker: Sendable, Hashable {
    /// Where the breaker stands.
    package enum State: Sendable, Hashable {
        /// Calls pass; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Calls are rejected until `until`.
        case open(until: ContinuousClock.Instant)
        /// One trial call is in flight.
        case halfOpen
    }

    /// Consecutive failures that open the breaker.
    package let threshold: Int
    /// How long the breaker stays open.
    package let openDuration: Duration
    /// The current state.
    package private(set) var state: State = .closed(failures: 0)

    /// Creates a closed breaker.
    ///
    /// - Parameters:
    ///   - threshold: Consecutive failures that open the breaker.
    ///   - openDuration: How long the breaker stays open.
    package init(threshold: Int, openDuration: Duration) {
        self.threshold = max(1, threshold)
        self.openDuration = openDuration
    }

    /// Asks to make a call.
    ///
    /// - Parameter now: The current time.
    /// - Returns: Whether the call may go ahead.
    package mutating func acquire(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        case .halfOpen:
            return false
        }
    }

    /// Records how a call that ``acquire(now:)`` let through ended.
    ///
    /// - Parameters:
    ///   - success: Whether the deployment answered.
    ///   - now: The current time.
    package mutating func record(success: Bool, now: ContinuousClock.Instant) {
        if success {
            state = .closed(failures: 0)
            return
        }
        switch state {
        case .closed(let failures) where failures + 1 < threshold:
            state = .closed(failures: failures + 1)
        case .closed, .halfOpen, .open:
            state = .open(until: now.advanced(by: openDuration))
        }
    }
}
