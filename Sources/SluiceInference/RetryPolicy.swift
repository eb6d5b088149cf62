/// When and how long to wait before retrying a deployment.
///
/// Delays grow exponentially from ``baseDelay`` up to ``maxDelay`` with "equal jitter" (half fixed, half
/// random), so that many clients retrying at once spread out. A `Retry-After` from the upstream replaces the
/// computed delay; one longer than ``maxRetryAfter`` is not waited for at all.
///
/// ```swift
/// let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
/// let wait = policy.delay(afterAttempt: 1, retryAfter: nil, random: { Double.random(in: 0..<1) })
/// ```
package struct RetryPolicy: Sendable, Hashable {
    /// Attempts per deployment, the first included.
    package var maxAttempts: Int
    /// The delay before the first retry, before jitter.
    package var baseDelay: Duration
    /// The longest computed delay.
    package var maxDelay: Duration
    /// The longest `Retry-After` worth waiting for; longer ones end the retries.
    package var maxRetryAfter: Duration

    /// Creates a policy.
    ///
    /// - Parameters:
    ///   - maxAttempts: Attempts per deployment, the first included.
    ///   - baseDelay: The delay before the first retry.
    ///   - maxDelay: The longest computed delay.
    ///   - maxRetryAfter: The longest `Retry-After` worth waiting for.
    package init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .milliseconds(200),
        maxDelay: Duration = .seconds(5),
        maxRetryAfter: Duration = .seconds(10)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// The delay before the next attempt, or `nil` when no more attempts should be made.
    ///
    /// - Parameters:
    ///   - attempt: The attempt that just failed, counting from 1.
    ///   - retryAfter: The upstream's `Retry-After`, if it sent one.
    ///   - random: A source of numbers in `0..<1`, injected so tests are deterministic.
    /// - Returns: How long to wait, or `nil` to stop retrying.
    package func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: () -> Double) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        if let retryAfter {
            return retryAfter <= maxRetryAfter ? retryAfter : nil
        }
        let exponent = min(attempt - 1, 30)
        let grown = baseDelay * (1 << exponent)
        let capped = min(grown, maxDelay)
        let half = capped / 2
        return half + half * random()
    }
}
