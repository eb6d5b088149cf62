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

        func recordUsage(_ record: UsageRecord) async throws { try await recordUsage(batch: [record]) }
        func authorize(_ request: AuthorizationRequest) async throws -> Authorization { throw Unsupported() }
        func createKey(_ request: KeyCreationRequest) async throws -> CreatedKey { throw Unsupported() }
        func listKeys(tenant: String?) async throws -> [APIKeyInfo] { throw Unsupported() }
        func revokeKey(id: String) async throws { throw Unsupported() }
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
}
