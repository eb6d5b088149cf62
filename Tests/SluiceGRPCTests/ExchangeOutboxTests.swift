import Dispatch
import GRPCCore
import SluiceFastPath
import Synchronization
import Testing

@Suite("Exchange outbox: batched writes of one stream", .timeLimit(.minutes(1)))
struct ExchangeOutboxTests {
    /// A response writer that records each batch and holds a write until the test lets it go.
    final class GatedWriter: RPCWriterProtocol, Sendable {
        let batches = Mutex<[[Int]]>([])
        let writing = Signal()
        private let gate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, any Error>], failure: (any Error)?)>(
            (true, [], nil)
        )

        func write(_ element: Int) async throws { try await write(contentsOf: [element]) }

        func write(contentsOf elements: some Sequence<Int>) async throws {
            batches.withLock { $0.append(Array(elements)) }
            writing.fire()
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = gate.withLock { gate -> Result<Void, any Error>? in
                    if let failure = gate.failure { return .failure(failure) }
                    if gate.open { return .success(()) }
                    gate.waiters.append(continuation)
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        }

        func close() { gate.withLock { $0.open = false } }

        func open() {
            let waiters = gate.withLock { gate in
                gate.open = true
                defer { gate.waiters = [] }
                return gate.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func fail(_ error: any Error) {
            let waiters = gate.withLock { gate in
                gate.failure = error
                defer { gate.waiters = [] }
                return gate.waiters
            }
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }

    struct Broken: Error {}

    @Test("messages posted while a batch is being written leave together in the next one, in order")
    func batches() async throws {
        // Given a writer that holds its first write
        let writer = GatedWriter()
        writer.close()
        let outbox = ExchangeOutbox<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await outbox.run(writer: RPCWriter(wrapping: writer)) }

            // When one message is posted and is being written, then three more, then the write completes
            try await outbox.post(1)
            try await writer.writing.wait(timeout: .seconds(20))
            for message in 2...4 { try await outbox.post(message) }
            writer.open()
            outbox.close()
            try await group.waitForAll()
        }

        // Then the three went as one batch after the first
        #expect(writer.batches.withLock { $0 } == [[1], [2, 3, 4]])
    }

    /// A task executor that runs its jobs one at a time, in the order they came, on a serial dispatch queue: what an
    /// event loop does for the tasks of one connection.
    final class SerialQueueExecutor: TaskExecutor {
        private let queue = DispatchQueue(label: "exchange-outbox-tests")

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }

    @Test("messages posted in one turn of a serial executor leave in one batch, the first included")
    func oneTurnOneBatch() async throws {
        // Given a writer parked on an empty outbox, on the executor the posters use
        let executor = SerialQueueExecutor()
        let writer = GatedWriter()
        let outbox = ExchangeOutbox<Int>()
        let writing = Task(executorPreference: executor) { await outbox.run(writer: RPCWriter(wrapping: writer)) }

        // When a task on the same executor posts three messages in one turn (the writer's first job ran before it)
        try await Task(executorPreference: executor) {
            for message in 1...3 { try await outbox.post(message) }
        }.value
        outbox.close()
        await writing.value

        // Then the writer, woken by the first, took all three when it ran
        #expect(writer.batches.withLock { $0 } == [[1, 2, 3]])
    }

    @Test("past the high-water mark a poster waits until the writer takes the messages; a failed write fails it")
    func backpressureAndFailure() async throws {
        // Given a writer that holds its first write, with a full outbox behind it
        let writer = GatedWriter()
        writer.close()
        let outbox = ExchangeOutbox<Int>()
        let limit = ExchangeOutbox<Int>.highWater
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await outbox.run(writer: RPCWriter(wrapping: writer)) }
            try await outbox.post(0)
            try await writer.writing.wait(timeout: .seconds(20))
            for message in 1...limit { try await outbox.post(message) }

            // When one more is posted
            let posted = Signal()
            let late = Task {
                defer { posted.fire() }
                try await outbox.post(limit + 1)
            }
            // Then it waits while the write is held
            await #expect(throws: Signal.TimedOut.self) { try await posted.wait(timeout: .milliseconds(200)) }

            // And when the write fails, the waiting poster and any later one get the failure
            writer.fail(Broken())
            await #expect(throws: Broken.self) { try await late.value }
            await #expect(throws: Broken.self) { try await outbox.post(-1) }
            try await group.waitForAll()
        }
        #expect(writer.batches.withLock { $0.count } == 1)
    }
}
