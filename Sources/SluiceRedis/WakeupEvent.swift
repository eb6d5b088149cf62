#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An auto-resetting event a connection's thread sleeps on until work arrives or the client shuts down.
///
/// ``signal()`` before ``wait()`` is remembered, so a wake-up between a thread's last look at its queue and its
/// sleep is never lost.
final class WakeupEvent: @unchecked Sendable {
    // @unchecked: `isSignalled` is read and written only while holding `mutex`; the pthread mutex and condition are
    // allocated once, never move, and are destroyed in deinit, when no thread can hold a reference to wait on.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var isSignalled = false

    /// Creates an unsignalled event.
    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        precondition(pthread_cond_init(condition, nil) == 0, "pthread_cond_init failed")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Wakes the waiting thread, or the next one to wait.
    func signal() {
        pthread_mutex_lock(mutex)
        isSignalled = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks the calling OS thread until the event is signalled, then resets it. Never call it from Swift
    /// concurrency.
    func wait() {
        pthread_mutex_lock(mutex)
        while !isSignalled { pthread_cond_wait(condition, mutex) }
        isSignalled = false
        pthread_mutex_unlock(mutex)
    }
}
