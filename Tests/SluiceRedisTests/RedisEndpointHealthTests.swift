import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis endpoint health")
struct RedisEndpointHealthTests {
    private let start = ContinuousClock.now

    @Test("a new client neither fails fast nor has anything to report")
    func fresh() {
        let health = RedisEndpointHealth(minimumDelay: .milliseconds(100), maximumDelay: .seconds(2))
        #expect(health.failFast(at: start) == nil)
        #expect(health.phase == .new)
    }

    @Test("failed attempts back off from the minimum, doubling up to the maximum, and fail calls fast meanwhile")
    func backoff() {
        // Given
        var health = RedisEndpointHealth(minimumDelay: .milliseconds(100), maximumDelay: .seconds(2))
        var now = start
        var waits: [Duration] = []
        // When: eight attempts in a row fail, each as soon as the previous wait has passed
        for _ in 0..<8 {
            _ = health.connectFailed("Connection refused", at: now)
            let failFast = health.failFast(at: now)
            waits.append(failFast?.retryIn ?? .zero)
            #expect(failFast?.reason == "Connection refused")
            now = health.retryAt!
            #expect(health.failFast(at: now) == nil)
        }
        // Then
        #expect(
            waits == [100, 200, 400, 800, 1600, 2000, 2000, 2000].map { Duration.milliseconds($0) }
        )
    }

    @Test("one warning per outage, one info on recovery, and a success resets the back-off")
    func logging() {
        // Given
        var health = RedisEndpointHealth(minimumDelay: .milliseconds(100), maximumDelay: .seconds(2))
        // When / Then
        #expect(health.connected() == .connected)
        #expect(health.dropped("Redis closed the connection") == .lost)
        #expect(health.failFast(at: start) == nil)  // a dropped connection is retried at once
        #expect(health.connectFailed("Connection refused", at: start) == .none)
        #expect(health.connectFailed("Connection refused", at: start) == .none)
        #expect(health.dropped("again") == .none)
        #expect(health.connected() == .recovered)
        #expect(health.nextDelay == .milliseconds(100))
        #expect(health.failFast(at: start) == nil)
    }

    @Test("a first attempt that fails is reported once")
    func neverConnected() {
        var health = RedisEndpointHealth(minimumDelay: .milliseconds(100), maximumDelay: .seconds(2))
        #expect(health.connectFailed("Connection refused", at: start) == .lost)
        #expect(health.connectFailed("Connection refused", at: health.retryAt!) == .none)
        #expect(health.connected() == .recovered)
    }
}
