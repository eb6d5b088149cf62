import Testing

@testable import SluiceGovernance

@Suite("Key cache")
struct KeyCacheTests {
    @Test("returns a stored record until its time-to-live passes")
    func expiry() {
        // Given
        let cache = KeyCache<String>(ttl: .seconds(1))
        let start = ContinuousClock.now
        cache.store("record", for: "id", now: start)
        // When / Then
        #expect(cache.lookup("id", now: start.advanced(by: .milliseconds(999))) == .some("record"))
        #expect(cache.lookup("id", now: start.advanced(by: .seconds(1))) == nil)
    }

    @Test("caches an unknown id as absent, and forgets removed ids")
    func negativeAndRemoval() {
        // Given
        let cache = KeyCache<String>(ttl: .seconds(5))
        cache.store(nil, for: "unknown")
        cache.store("record", for: "known")
        // When
        cache.remove("known")
        // Then
        #expect(cache.lookup("unknown") == .some(nil))
        #expect(cache.lookup("known") == nil)
    }

    @Test("a zero time-to-live caches nothing")
    func disabled() {
        let cache = KeyCache<String>(ttl: .zero)
        cache.store("record", for: "id")
        #expect(cache.lookup("id") == nil)
    }

    @Test("stays within its capacity")
    func capacity() {
        // Given
        let cache = KeyCache<Int>(ttl: .seconds(60), capacity: 3)
        // When
        for index in 0..<10 { cache.store(index, for: "id\(index)") }
        // Then: the latest entry is there, and no more than the capacity is held
        #expect(cache.lookup("id9") == .some(9))
        #expect((0..<10).filter { cache.lookup("id\($0)") != nil }.count <= 3)
    }
}
