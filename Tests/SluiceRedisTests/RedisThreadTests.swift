import SluiceTesting
import Synchronization
import Testing

@testable import SluiceRedis

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Redis connection thread", .timeLimit(.minutes(1)))
struct RedisThreadTests {
    @Test("a write to a closed socket on a connection thread fails with EPIPE instead of killing the process")
    func sigpipe() async throws {
        // Given: a socket pair whose other end is closed
        var sockets: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sockets) == 0)
        close(sockets[1])
        let writer = sockets[0]
        defer { close(writer) }
        // When: a connection thread writes to it (without the thread's blocked SIGPIPE, the process would die here)
        let outcome = Mutex<(result: Int, error: Int32)?>(nil)
        let thread = RedisThread.start {
            let byte: [UInt8] = [1]
            let result = write(writer, byte, 1)
            let error = errno
            outcome.withLock { $0 = (result, error) }
        }
        pthread_join(thread, nil)
        // Then
        let written = try #require(outcome.withLock { $0 })
        #expect(written.result == -1)
        #expect(written.error == EPIPE)
    }
}
