import Dispatch
import NIOCore
import NIOPosix
import SluiceFastPath
import Testing

@Suite("Event loop task executor")
struct EventLoopTaskExecutorTests {
    @Test("a task that prefers it runs on its loop, after every kind of resumption and in child tasks")
    func staysOnTheLoop() async throws {
        // Given a one-loop group and an executor for its loop
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(loop)

        // When a task prefers it, sleeps, is resumed from another thread and starts a child task
        let onLoop = await withTaskExecutorPreference(executor) {
            var seen = [loop.inEventLoop]
            try? await Task.sleep(for: .milliseconds(5))
            seen.append(loop.inEventLoop)
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume() }
            }
            seen.append(loop.inEventLoop)
            async let child = loop.inEventLoop
            seen.append(await child)
            return seen
        }

        // Then every step ran on the loop's thread
        #expect(onLoop == [true, true, true, true])

        // And without the preference the same task does not
        let offLoop = await Task { loop.inEventLoop }.value
        #expect(!offLoop)
        try await group.shutdownGracefully()
    }

    @Test("shared(for:) gives one executor per loop, the same to every caller")
    func sharedPerLoop() async throws {
        // Given a two-loop group
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())

        // When executors are asked for, twice for the first loop
        let a = EventLoopTaskExecutor.shared(for: first)
        let b = EventLoopTaskExecutor.shared(for: first)
        let c = EventLoopTaskExecutor.shared(for: second)

        // Then the first loop's callers share one, on that loop, and the second loop has its own
        #expect(a === b)
        #expect(a !== c)
        #expect(a.eventLoop === first)
        #expect(c.eventLoop === second)
        try await group.shutdownGracefully()
    }
}
