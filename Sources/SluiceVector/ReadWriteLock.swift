#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A readers-writer lock that prefers writers, so a steady stream of queries cannot starve a write.
///
/// Searches share the read side; the collection's single writer takes the write side only for short, bounded steps
/// (linking one node, swapping compacted storage), so readers never wait long.
package final class ReadWriteLock: @unchecked Sendable {
    // @unchecked: the pthread lock is the synchronization; its storage is allocated once and never moves.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// Creates a lock.
    package init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        precondition(pthread_rwlock_init(lock, &attributes) == 0, "pthread_rwlock_init failed")
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the read side.
    ///
    /// - Parameter body: The read.
    /// - Returns: What `body` returns.
    package func withReadLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the write side.
    ///
    /// - Parameter body: The write.
    /// - Returns: What `body` returns.
    package func withWriteLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
