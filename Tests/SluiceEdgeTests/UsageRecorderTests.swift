import Foundation
import Logging
import ServiceLifecycle
import SluiceEdge
import SluiceGovernance
import Synchronization
import Testing

@Suite("Usage recorder")
struct UsageRecorderTests {
    /// A ledger that notes each batch and holds the first write until the test opens the gate.
    private final class GatedLedger: GovernanceService {
        struct Unsupported: Error {}

        private struct State {
            var batches: [(records: [String], at: ContinuousClock.Instant)] = []
            var gate: CheckedContinuation<Void, Never>?
            var gateOpen = false
            var firstWriteStarted: CheckedContinuation<Void, Never>?
            var batchWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        }

        private let state = Mutex(State())

        var batches: [(records: [String], at: ContinuousClock.Instant)] { state.withLock { $0.batches } }

        func recordUsage(batch records: [UsageRecord]) async throws {
            let isFirst = state.withLock { state in
                let first = state.batches.isEmpty
                state.batches.append((records.map(\.requestID), .now))
                let ready = state.batchWaiters.filter { $0.count <= state.batches.count }
                state.batchWaiters.removeAll { $0.count <= state.batches.count }
                ready.forEach { $0.continuation.resume() }
                if first {
                    state.firstWriteStarted?.resume()
                    state.firstWriteStarted = nil
                }
                return first
            }
            guard isFirst else { return }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.gateOpen { return true }
                    state.gate = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }

        func untilFirstWriteStarted() async {
            await withCheckedContinuation { continuation in
                let started = state.withLock { state in
                    if !state.batches.isEmpty { return true }
                    state.firstWriteStarted = continuation
                    return false
                }
                if started { continuation.resume() }
            }
        }

        func openGate() {
            let gate = state.withLock { state in
                state.gateOpen = true
                defer { state.gate = nil }
                return state.gate
            }
            gate?.resume()
        }

        func untilBatches(_ count: Int) async {
            await withCheckedContinuation { continuation in
                let reached = state.withLock { state in
                    if state.batches.count >= count { return true }
                    state.batchWaiters.append((count, continuation))
                    return false
                }
                if reached { continuation.resume() }
            }
        }

        func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt {
            try await recordUsage(batch: [record])
            return UsageReceipt(recorded: true, costMicros: 0)
        }
        func authorize(_ request: AuthorizationRequest) async throws -> Authorization { throw Unsupported() }
        func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey { throw Unsupported() }
        func listKeys(tenant: String?) async throws -> [APIKeyInfo] { throw Unsupported() }
        func revokeKey(id: String, reason: String) async throws -> APIKeyInfo { throw Unsupported() }
        func queryUsage(_ query: UsageQuery) async throws -> UsageReport { throw Unsupported() }
        func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord { throw Unsupported() }
        func policy(for scope: Policy.Scope) async throws -> PolicyRecord { throw Unsupported() }
    }

    /// A ledger that refuses writes with `error` until it has refused `failures` of them, or until ``recover()``.
    ///
    /// Its waits end when the awaited state is reached or when the waiting task is cancelled (a test's time limit),
    /// so a recorder that never writes fails the test rather than hanging it.
    private final class FlakyLedger: GovernanceService {
        struct Unsupported: Error {}

        private struct Waiter {
            var token: Int
            var reached: @Sendable (State) -> Bool
            var continuation: CheckedContinuation<Void, Never>
        }

        private struct State {
            var remainingFailures: Int
            var attempts = 0
            var written: [String] = []
            var waiters: [Waiter] = []
            var nextToken = 0
        }

        private let state: Mutex<State>
        private let error: GovernanceError

        init(failing failures: Int, with error: GovernanceError) {
            state = Mutex(State(remainingFailures: failures))
            self.error = error
        }

        /// The request ids written, in order.
        var written: [String] { state.withLock { $0.written } }
        /// Every try, failed or not.
        var attempts: Int { state.withLock { $0.attempts } }

        func recordUsage(batch records: [UsageRecord]) async throws {
            let (fail, ready) = state.withLock { state -> (Bool, [Waiter]) in
                state.attempts += 1
                let fail = state.remainingFailures > 0
                if fail {
                    state.remainingFailures -= 1
                } else {
                    state.written += records.map(\.requestID)
                }
                let current = state
                let ready = state.waiters.filter { $0.reached(current) }
                state.waiters.removeAll { $0.reached(current) }
                return (fail, ready)
            }
            ready.forEach { $0.continuation.resume() }
            if fail { throw error }
        }

        func recover() { state.withLock { $0.remainingFailures = 0 } }

        func untilFirstAttempt() async { await wait { $0.attempts > 0 } }

        func untilWritten(_ count: Int) async { await wait { $0.written.count >= count } }

        private func wait(until reached: @escaping @Sendable (State) -> Bool) async {
            let token = state.withLock { state in
                state.nextToken += 1
                return state.nextToken
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let now = state.withLock { state in
                        if reached(state) || Task.isCancelled { return true }
                        state.waiters.append(Waiter(token: token, reached: reached, continuation: continuation))
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state in
                    state.waiters.firstIndex { $0.token == token }.map { state.waiters.remove(at: $0) }
                }
                waiter?.continuation.resume()
            }
        }

        func recordUsage(_ record: UsageRecord) async throws -> UsageReceipt {
            try await recordUsage(batch: [record])
            return UsageReceipt(recorded: true, costMicros: 0)
        }
        func authorize(_ request: AuthorizationRequest) async throws -> Authorization { throw Unsupported() }
        func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey { throw Unsupported() }
        func listKeys(tenant: String?) async throws -> [APIKeyInfo] { throw Unsupported() }
        func revokeKey(id: String, reason: String) async throws -> APIKeyInfo { throw Unsupported() }
        func queryUsage(_ query: UsageQuery) async throws -> UsageReport { throw Unsupported() }
        func setPolicy(_ policy: Policy, for scope: Policy.Scope) async throws -> PolicyRecord { throw Unsupported() }
        func policy(for scope: Policy.Scope) async throws -> PolicyRecord { throw Unsupported() }
    }

    /// What happened, in order, across tasks.
    private final class EventLog: Sendable {
        private let events = Mutex<[String]>([])
        var entries: [String] { events.withLock { $0 } }
        func append(_ event: String) { events.withLock { $0.append(event) } }
    }

    /// A recorder with a 1 ms window and a first retry after 1 ms, so that outages of many tries take milliseconds.
    private static func quickRecorder(
        _ ledger: any GovernanceService,
        spool: URL? = nil,
        maximumRetryDelay: Duration = .seconds(5),
        admissionLimit: Int = UsageRecorder.defaultAdmissionLimit
    ) -> UsageRecorder {
        UsageRecorder(
            governance: ledger,
            spoolDirectory: spool,
            logger: Logger(label: "test"),
            batchWindow: .milliseconds(1),
            retryDelay: .milliseconds(1),
            maximumRetryDelay: maximumRetryDelay,
            admissionLimit: admissionLimit
        )
    }

    /// A new, empty folder for a spool.
    private static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-spool-\(UUID().uuidString)")
    }

    /// Runs `recorder` in a service group around `body`, then shuts it down gracefully.
    private static func running<T: Sendable>(
        _ recorder: UsageRecorder,
        _ body: () async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(services: [recorder], logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    private static func record(_ id: String) -> UsageRecord {
        UsageRecord(
            requestID: id,
            principal: Principal(tenantID: "ten_1", tenantName: "acme", keyID: "key_1", roles: []),
            model: "echo",
            provider: "echo",
            upstreamModel: "echo",
            promptTokens: 1,
            completionTokens: 1,
            isEstimated: false,
            latencyMilliseconds: 1,
            outcome: "ok"
        )
    }

    @Test(
        "records that arrive while a batch is written wait for the next window instead of going one by one",
        .timeLimit(.minutes(1))
    )
    func nextWindow() async throws {
        // Given a recorder with a long window, whose first write the ledger holds
        let ledger = GatedLedger()
        let window = Duration.milliseconds(600)
        let recorder = UsageRecorder(governance: ledger, logger: Logger(label: "test"), batchWindow: window)
        let group = ServiceGroup(services: [recorder], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for id in ["a1", "a2", "a3"] { recorder.record(Self.record(id)) }
            await ledger.untilFirstWriteStarted()

            // When more records arrive during that write, and it then completes
            for id in ["b1", "b2", "b3", "b4"] { recorder.record(Self.record(id)) }
            let released = ContinuousClock.now
            ledger.openGate()
            recorder.record(Self.record("b5"))
            await ledger.untilBatches(2)

            // Then they go together as the second batch, written a whole window after the first write ended
            let batches = ledger.batches
            #expect(batches.map(\.records) == [["a1", "a2", "a3"], ["b1", "b2", "b3", "b4", "b5"]])
            #expect(batches[1].at - released >= window)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test(
        "while governance is unreachable a batch is retried until it is written, and nothing is lost",
        .timeLimit(.minutes(1))
    )
    func retriesWhileUnreachable() async throws {
        // Given a governance that cannot be reached for its first twelve tries (more than the three a refused batch
        // gets), and a recorder that backs off from 1 ms to at most 4 ms
        let ledger = FlakyLedger(failing: 12, with: GovernanceError(.unavailable, "connection refused"))
        let recorder = Self.quickRecorder(ledger, maximumRetryDelay: .milliseconds(4))

        // When records arrive during the outage
        try await Self.running(recorder) {
            for id in ["r1", "r2", "r3"] { recorder.record(Self.record(id)) }
            await ledger.untilFirstAttempt()
            for id in ["r4", "r5"] { recorder.record(Self.record(id)) }
            await ledger.untilWritten(5)
        }

        // Then every record is written once, in order, after the twelve failed tries
        #expect(ledger.written == ["r1", "r2", "r3", "r4", "r5"])
        #expect(ledger.attempts >= 13)
    }

    @Test(
        "a batch governance refuses gets three tries and is dropped, and later records are still written",
        .timeLimit(.minutes(1))
    )
    func refusedBatchIsDropped() async throws {
        // Given a governance that refuses the first three writes as invalid
        let ledger = FlakyLedger(failing: 3, with: GovernanceError(.invalidArgument, "bad record"))
        let recorder = Self.quickRecorder(ledger)

        // When one record is refused and another arrives while it is retried
        try await Self.running(recorder) {
            recorder.record(Self.record("refused"))
            await ledger.untilFirstAttempt()
            recorder.record(Self.record("later"))
            await ledger.untilWritten(1)
        }

        // Then the refused record was dropped after three tries, and the later one written in its own batch
        #expect(ledger.written == ["later"])
        #expect(ledger.attempts == 4)
    }

    @Test(
        "while governance is unreachable records go to the spool on disk and are replayed in order once it answers",
        .timeLimit(.minutes(1))
    )
    func spoolsWhileUnreachable() async throws {
        // Given a governance unreachable for its first five tries, and a recorder with a spool
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ledger = FlakyLedger(failing: 5, with: GovernanceError(.unavailable, "connection refused"))
        let recorder = Self.quickRecorder(ledger, spool: folder, maximumRetryDelay: .milliseconds(4))

        // When records arrive before and during the outage
        try await Self.running(recorder) {
            for id in ["s1", "s2"] { recorder.record(Self.record(id)) }
            await ledger.untilFirstAttempt()
            for id in ["s3", "s4", "s5"] { recorder.record(Self.record(id)) }
            await ledger.untilWritten(5)
        }

        // Then every record is written once, in order, and the replayed spool is empty
        #expect(ledger.written == ["s1", "s2", "s3", "s4", "s5"])
        #expect(try UsageSpool(directory: folder).isEmpty)
    }

    @Test(
        "records still queued at shutdown while governance is unreachable wait in the spool for the next start",
        .timeLimit(.minutes(1))
    )
    func spoolSurvivesRestart() async throws {
        // Given a governance that never answers, and a recorder with a spool
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let down = FlakyLedger(failing: .max, with: GovernanceError(.unavailable, "deadline exceeded"))
        let first = Self.quickRecorder(down, spool: folder, maximumRetryDelay: .milliseconds(2))

        // When records arrive and the process shuts down
        try await Self.running(first) {
            for id in ["k1", "k2", "k3"] { first.record(Self.record(id)) }
            await down.untilFirstAttempt()
            first.record(Self.record("k4"))
        }

        // Then they are on disk, in order
        var spool = try UsageSpool(directory: folder)
        let segments = try spool.sealSegments()
        let spooled = try segments.flatMap { try spool.records(in: $0).records.map(\.requestID) }
        #expect(spooled == ["k1", "k2", "k3", "k4"])

        // And when the next run starts with governance back, the spool is replayed and emptied
        let up = FlakyLedger(failing: 0, with: GovernanceError(.unavailable, "unused"))
        let second = Self.quickRecorder(up, spool: folder)
        try await Self.running(second) { await up.untilWritten(4) }
        #expect(up.written == ["k1", "k2", "k3", "k4"])
        #expect(try UsageSpool(directory: folder).isEmpty)
    }

    @Test("a spooled line cut short by a crash is skipped and the rest replayed", .timeLimit(.minutes(1)))
    func tornSpoolLine() async throws {
        // Given a spool segment whose last line was cut short mid-append
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var spool = try UsageSpool(directory: folder)
        try spool.append([Self.record("t1"), Self.record("t2")])
        let segment = try #require(try spool.sealSegments().first)
        let handle = try FileHandle(forWritingTo: segment.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"requestID":"t3","princ"#.utf8))
        try handle.close()

        // When a recorder starts with governance reachable
        let ledger = FlakyLedger(failing: 0, with: GovernanceError(.unavailable, "unused"))
        let recorder = Self.quickRecorder(ledger, spool: folder)
        try await Self.running(recorder) { await ledger.untilWritten(2) }

        // Then the whole records are written and the segment removed
        #expect(ledger.written == ["t1", "t2"])
        #expect(try UsageSpool(directory: folder).isEmpty)
    }

    @Test(
        "requests wait while the ledger is behind by the admission limit, and go on once it catches up",
        .timeLimit(.minutes(1))
    )
    func backpressure() async throws {
        // Given a recorder admitting while fewer than three records wait, whose first write the ledger holds
        let ledger = GatedLedger()
        let recorder = UsageRecorder(
            governance: ledger,
            logger: Logger(label: "test"),
            batchWindow: .milliseconds(1),
            admissionLimit: 3
        )
        let events = EventLog()
        try await Self.running(recorder) {
            recorder.record(Self.record("a1"))
            await ledger.untilFirstWriteStarted()
            for id in ["b1", "b2"] { recorder.record(Self.record(id)) }
            await recorder.admit()  // two waiting: admitted at once
            recorder.record(Self.record("b3"))

            // When a request asks to be admitted with three records waiting
            async let admitted: Void = {
                await recorder.admit()
                events.append("admitted")
            }()
            while recorder.waitingAdmissions == 0 { await Task.yield() }
            events.append("ledger released")
            ledger.openGate()
            await admitted

            // Then it waited until the writer took the queue, and nothing was dropped
            await ledger.untilBatches(2)
        }
        #expect(events.entries == ["ledger released", "admitted"])
        #expect(ledger.batches.flatMap(\.records) == ["a1", "b1", "b2", "b3"])
    }
}
