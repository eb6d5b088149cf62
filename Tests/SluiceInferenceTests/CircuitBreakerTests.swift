import SluiceInference
import Testing

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    private let start = ContinuousClock.now

    @Test("lets calls through below the threshold")
    func staysClosedBelowThreshold() {
        // Given a breaker with threshold 3
        var breaker = CircuitBreaker(threshold: 3, openDuration: .seconds(30))

        // When two calls fail
        breaker.record(success: false, now: start)
        breaker.record(success: false, now: start)

        // Then it is still closed and counts the failures
        #expect(breaker.state == .closed(failures: 2))
        let allowed1 = breaker.acquire(now: start)
        #expect(allowed1)
    }

    @Test("opens at the threshold and rejects calls for the open duration")
    func opensAtThreshold() {
        // Given a breaker with threshold 3
        var breaker = CircuitBreaker(threshold: 3, openDuration: .seconds(30))

        // When three calls fail in a row
        for _ in 0..<3 { breaker.record(success: false, now: start) }

        // Then it opens until 30 s later and rejects calls meanwhile
        #expect(breaker.state == .open(until: start.advanced(by: .seconds(30))))
        let allowed2 = breaker.acquire(now: start.advanced(by: .seconds(1)))
        #expect(!allowed2)
        let allowed3 = breaker.acquire(now: start.advanced(by: .milliseconds(29_999)))
        #expect(!allowed3)
    }

    @Test("a success resets the count of consecutive failures")
    func successResets() {
        // Given a breaker with threshold 3 and two failures
        var breaker = CircuitBreaker(threshold: 3, openDuration: .seconds(30))
        breaker.record(success: false, now: start)
        breaker.record(success: false, now: start)

        // When a call succeeds and two more fail
        breaker.record(success: true, now: start)
        breaker.record(success: false, now: start)
        breaker.record(success: false, now: start)

        // Then the failures are not consecutive enough to open it
        #expect(breaker.state == .closed(failures: 2))
        let allowed4 = breaker.acquire(now: start)
        #expect(allowed4)
    }

    @Test("lets exactly one trial call through once the open duration has passed")
    func halfOpenAfterDuration() {
        // Given an open breaker
        var breaker = CircuitBreaker(threshold: 1, openDuration: .seconds(30))
        breaker.record(success: false, now: start)

        // When the open duration has passed
        let later = start.advanced(by: .seconds(30))
        let first = breaker.acquire(now: later)
        let second = breaker.acquire(now: later)

        // Then one trial call goes through and a concurrent one does not
        #expect(first)
        #expect(!second)
        #expect(breaker.state == .halfOpen)
    }

    @Test("a successful trial call closes it")
    func halfOpenSuccessCloses() {
        // Given a half-open breaker
        var breaker = CircuitBreaker(threshold: 1, openDuration: .seconds(30))
        breaker.record(success: false, now: start)
        let later = start.advanced(by: .seconds(31))
        _ = breaker.acquire(now: later)

        // When the trial call succeeds
        breaker.record(success: true, now: later)

        // Then calls pass again
        #expect(breaker.state == .closed(failures: 0))
        let allowed5 = breaker.acquire(now: later)
        #expect(allowed5)
    }

    @Test("a failed trial call opens it again for a full open duration")
    func halfOpenFailureReopens() {
        // Given a half-open breaker with threshold 5
        var breaker = CircuitBreaker(threshold: 5, openDuration: .seconds(30))
        for _ in 0..<5 { breaker.record(success: false, now: start) }
        let later = start.advanced(by: .seconds(40))
        _ = breaker.acquire(now: later)

        // When the trial call fails
        breaker.record(success: false, now: later)

        // Then it opens at once, counted from the trial
        #expect(breaker.state == .open(until: later.advanced(by: .seconds(30))))
        let allowed6 = breaker.acquire(now: later.advanced(by: .seconds(29)))
        #expect(!allowed6)
    }

    @Test("treats a threshold below one as one", arguments: [0, -1])
    func clampsThreshold(threshold: Int) {
        // Given a breaker configured with a threshold below one
        var breaker = CircuitBreaker(threshold: threshold, openDuration: .seconds(1))

        // When one call fails
        breaker.record(success: false, now: start)

        // Then it opens
        #expect(breaker.threshold == 1)
        let allowed7 = breaker.acquire(now: start)
        #expect(!allowed7)
    }
}
