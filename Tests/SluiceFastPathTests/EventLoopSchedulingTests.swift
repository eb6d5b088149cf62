import NIOCore
import NIOEmbedded
import NIOPosix
import SluiceFastPath
import Testing

@Suite("Event loop task executor: sleeping")
struct EventLoopSchedulingTests {
    @Test(
        "a sleep waits in the loop's timer queue: it ends when the loop's clock passes it, and resumes on the loop",
        .timeLimit(.minutes(1))
    )
    func sleepRunsOnTheLoopsClock() async throws {
        // Given a test loop whose clock only moves when told to
        let loop = NIOAsyncTestingEventLoop()
        let executor = EventLoopTaskExecutor(loop)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)

        // When a task that prefers it sleeps for an hour
        let sleeper = Task(executorPreference: executor) {
            // The sleep is scheduled in this same job on the loop, before the loop takes the test's next step.
            startedContinuation.yield()
            try await Task.sleep(for: .seconds(3600))
            return loop.inEventLoop
        }
        var iterator = started.makeAsyncIterator()
        await iterator.next()

        // Then moving the loop's clock an hour on ends the sleep (a sleep on the global executor's timers would
        // wait an hour of real time), and the task resumes on the loop
        await loop.advanceTime(by: .hours(1))
        let wokeOnLoop = try await withTaskCancellationHandler {
            try await sleeper.value
        } onCancel: {
            sleeper.cancel()  // at the time limit, so that a sleep the loop does not own fails the test, not hangs it
        }
        #expect(wokeOnLoop)
        await loop.shutdownGracefully()
    }

    @Test(
        "sleeps end in deadline order, including one shorter than those already waiting, and never before they are due",
        .timeLimit(.minutes(1))
    )
    func sleepsEndInDeadlineOrder() async throws {
        // Given a test loop and sleepers of 30, 10 and 20 minutes, started in that order; each reports its length and
        // the loop's clock when it woke
        let loop = NIOAsyncTestingEventLoop()
        let executor = EventLoopTaskExecutor(loop)
        let (wakes, wakesContinuation) = AsyncStream.makeStream(of: (minutes: Int, at: NIODeadline).self)
        var sleepers: [Task<Void, any Error>] = []
        for minutes in [30, 10, 20] {
            let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
            sleepers.append(
                Task(executorPreference: executor) {
                    startedContinuation.yield()
                    try await Task.sleep(for: .seconds(60 * minutes))
                    wakesContinuation.yield((minutes, loop.now))
                }
            )
            var iterator = started.makeAsyncIterator()
            await iterator.next()
        }

        // When the loop's clock (which starts at zero) moves on in steps, waiting after each step for the sleeper
        // that became due (a woken task reaches the loop again through the global executor, so it is awaited)
        var wakeIterator = wakes.makeAsyncIterator()
        var woken: [(minutes: Int, at: NIODeadline)] = []
        for (step, due) in [(5, false), (15, true), (25, true), (35, true)] {
            await loop.advanceTime(to: .uptimeNanoseconds(0) + .minutes(Int64(step)))
            if due, let wake = await wakeIterator.next() { woken.append(wake) }
        }

        // Then they woke shortest first, each when the loop's clock had reached its deadline and not before
        #expect(woken.map(\.minutes) == [10, 20, 30])
        for wake in woken {
            #expect(wake.at >= .uptimeNanoseconds(0) + .minutes(Int64(wake.minutes)))
        }
        for sleeper in sleepers { try await sleeper.value }
        await loop.shutdownGracefully()
    }

    @Test(
        "on a real loop a sleep lasts at least its duration, and a cancelled one ends at once",
        .timeLimit(.minutes(1))
    )
    func sleepOnARealLoop() async throws {
        // Given a one-loop group and an executor for its loop
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(loop)

        // When a task that prefers it sleeps 20 ms
        let (elapsed, onLoop) = try await Task(executorPreference: executor) {
            let clock = ContinuousClock()
            let start = clock.now
            try await Task.sleep(for: .milliseconds(20))
            return (clock.now - start, loop.inEventLoop)
        }.value

        // Then it slept at least that long and woke on the loop
        #expect(elapsed >= .milliseconds(20))
        #expect(onLoop)

        // And a task sleeping an hour that is cancelled throws CancellationError without waiting for the timer
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let sleeper = Task(executorPreference: executor) {
            startedContinuation.yield()
            try await Task.sleep(for: .seconds(3600))
        }
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        try await group.shutdownGracefully()
    }
}
