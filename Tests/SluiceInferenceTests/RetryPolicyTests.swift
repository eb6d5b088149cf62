import SluiceInference
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test(
        "grows the delay exponentially up to the cap, with half of it jittered",
        arguments: [
            (1, 0.0, Duration.milliseconds(50)),
            (2, 0.0, .milliseconds(100)),
            (3, 0.0, .milliseconds(200)),
            (4, 0.0, .milliseconds(400)),
            (5, 0.0, .milliseconds(500)),
            (9, 0.0, .milliseconds(500)),
            (1, 0.5, .milliseconds(75)),
            (2, 0.5, .milliseconds(150)),
            (4, 0.5, .milliseconds(600)),
            (5, 0.5, .milliseconds(750)),
            (5, 0.75, .milliseconds(875)),
        ]
    )
    func exponentialBackoff(attempt: Int, random: Double, expected: Duration) {
        // Given a policy from 100 ms up to 1 s
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1))

        // When it computes the delay after a failed attempt
        let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, random: { random })

        // Then the delay is half fixed and half scaled by the random number
        #expect(delay == expected)
    }

    @Test("never waits longer than the cap, whatever the random number", arguments: [0.0, 0.25, 0.5, 0.999_999])
    func jitterStaysWithinBounds(random: Double) throws {
        // Given a policy capped at 2 s
        let policy = RetryPolicy(maxAttempts: 100, baseDelay: .milliseconds(200), maxDelay: .seconds(2))

        // When it computes delays late in a long series
        let delays = try (1...60).map {
            try #require(policy.delay(afterAttempt: $0, retryAfter: nil, random: { random }))
        }

        // Then every delay lies between half the cap and the cap
        #expect(delays.allSatisfy { $0 >= .milliseconds(100) && $0 <= .seconds(2) })
        #expect(delays.last! >= .seconds(1))
    }

    @Test("stops once the attempts are spent", arguments: [(1, true), (2, true), (3, false), (4, false)])
    func stopsAfterMaxAttempts(attempt: Int, retries: Bool) {
        // Given a policy of three attempts
        let policy = RetryPolicy(maxAttempts: 3)

        // When it is asked after an attempt
        let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, random: { 0 })

        // Then only the first two failures get another try
        #expect((delay != nil) == retries)
    }

    @Test("replaces the computed delay with Retry-After")
    func honoursRetryAfter() {
        // Given a policy with short computed delays
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))

        // When the upstream asked for 3 s
        let delay = policy.delay(afterAttempt: 1, retryAfter: .seconds(3), random: { 0.9 })

        // Then the policy waits exactly that long
        #expect(delay == .seconds(3))
    }

    @Test(
        "gives up when Retry-After exceeds the longest worthwhile wait",
        arguments: [
            (Duration.seconds(5), true), (.seconds(10), true), (.milliseconds(10_001), false), (.seconds(60), false),
        ]
    )
    func capsRetryAfter(retryAfter: Duration, retries: Bool) {
        // Given a policy that waits at most 10 s for Retry-After
        let policy = RetryPolicy(maxAttempts: 3, maxRetryAfter: .seconds(10))

        // When the upstream asks for a wait
        let delay = policy.delay(afterAttempt: 1, retryAfter: retryAfter, random: { 0 })

        // Then longer waits end the retries
        #expect(delay == (retries ? retryAfter : nil))
    }

    @Test("ignores Retry-After once the attempts are spent")
    func retryAfterDoesNotExtendAttempts() {
        // Given a policy of two attempts
        let policy = RetryPolicy(maxAttempts: 2)

        // When the second attempt failed with a short Retry-After
        let delay = policy.delay(afterAttempt: 2, retryAfter: .seconds(1), random: { 0 })

        // Then there is no third attempt
        #expect(delay == nil)
    }

    @Test("makes at least one attempt", arguments: [0, -3])
    func clampsMaxAttempts(maxAttempts: Int) {
        // Given a policy configured with no attempts
        let policy = RetryPolicy(maxAttempts: maxAttempts)

        // When it is inspected
        let delay = policy.delay(afterAttempt: 1, retryAfter: nil, random: { 0 })

        // Then it makes exactly one attempt
        #expect(policy.maxAttempts == 1)
        #expect(delay == nil)
    }
}
