import Dispatch
import Foundation
import Testing

@testable import SluiceGovernance

@Suite("Low-priority worker")
struct LowPriorityWorkerTests {
    private struct Failure: Error, Equatable {}

    @Test("runs a job at idle priority and returns its result")
    func idlePriority() async throws {
        // A patience far beyond any scheduling delay, so a busy test machine cannot hand the job to the other thread.
        let worker = LowPriorityWorker(name: "test", patience: .seconds(60))
        let (policy, value) = try await worker.run { (LowPriorityWorker.currentThreadPolicy, 42) }
        #expect(value == 42)
        #if os(Linux)
            #expect(policy == "idle")
        #endif
        // The caller's own thread is untouched.
        #expect(LowPriorityWorker.currentThreadPolicy == "normal")
    }

    @Test("passes a job's error to the caller")
    func errors() async {
        let worker = LowPriorityWorker(name: "test")
        await #expect(throws: Failure()) {
            try await worker.run { () throws -> Int in throw Failure() }
        }
        // The worker keeps working after a failed job.
        #expect((try? await worker.run { 7 }) == 7)
    }

    @Test(
        "a job that cannot have the idle-priority thread within its patience runs on the normal-priority thread",
        .timeLimit(.minutes(1))
    )
    func catchUp() async throws {
        // Given: one of the worker's threads is held by a job that waits for the test. Usually the idle-priority
        // thread takes it; on a busy machine that thread may be starved past the patience, and the other takes it.
        let worker = LowPriorityWorker(name: "test", patience: .milliseconds(20))
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        async let held: String = worker.run {
            // Read before waiting: a job that holds the idle-priority thread past the patience is raised to normal.
            let policy = LowPriorityWorker.currentThreadPolicy
            holding.signal()
            release.wait()
            return policy
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                holding.wait()
                continuation.resume()
            }
        }
        // When: a second job is queued behind it.
        let second = try await worker.run { LowPriorityWorker.currentThreadPolicy }
        release.signal()
        let first = try await held
        // Then: it ran while the first still held a thread, so on the other one; either way one of the two jobs
        // waited past its patience and ran at normal priority. Both read "normal" when the idle-priority thread took
        // the first job but was starved past the patience before reading its policy, and was raised meanwhile.
        #if os(Linux)
            #expect([first, second].contains("normal"))
        #else
            #expect(second == "normal")
        #endif
    }

    #if os(Linux)
        @Test(
            "a job that holds the idle-priority thread past its patience runs on at normal priority, then the thread is idle again",
            .timeLimit(.minutes(1)),
            .enabled(if: mayLeaveIdlePriority, "needs CAP_SYS_NICE or RLIMIT_NICE >= 20")
        )
        func raisesALongJob() async throws {
            // Given: a worker with a short patience.
            let worker = LowPriorityWorker(name: "raise", patience: .milliseconds(20))
            // When: a job on the idle-priority thread runs past the patience. (On a busy machine a job may wait past
            // the patience and go to the normal-priority thread instead; then another is tried.)
            var observed: (atStart: String, later: String)?
            for _ in 0..<50 where observed?.atStart != "idle" {
                observed = try await worker.run {
                    let atStart = LowPriorityWorker.currentThreadPolicy
                    guard atStart == "idle" else { return (atStart, atStart) }
                    // Bounded wait for the raise, which the other thread makes once the patience has passed.
                    let giveUp = ContinuousClock.now + .seconds(20)
                    var later = atStart
                    while later == "idle", ContinuousClock.now < giveUp {
                        usleep(1_000)
                        later = LowPriorityWorker.currentThreadPolicy
                    }
                    return (atStart, later)
                }
            }
            // Then: it started at idle priority and was raised to normal.
            #expect(observed?.atStart == "idle")
            #expect(observed?.later == "normal")
            // And: the thread returns to idle priority after the job (which resumed the test just before it ends,
            // so the thread's policy is polled, within a bound)
            let giveUp = ContinuousClock.now + .seconds(20)
            while Self.policy(ofThreadNamed: "raise-idle") != Self.schedIdle, ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(Self.policy(ofThreadNamed: "raise-idle") == Self.schedIdle)
        }

        private static let schedIdle = 5

        /// The scheduling policy (`/proc/self/task/*/stat` field 41) of this process's thread of that name.
        private static func policy(ofThreadNamed name: String) -> Int? {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            for task in tasks {
                let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                guard comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                    let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                    let end = stat.lastIndex(of: ")")
                else { continue }
                // Fields after the name start at field 3; the policy is field 41.
                let fields = stat[stat.index(after: end)...].split(separator: " ")
                return fields.count > 38 ? Int(fields[38]) : nil
            }
            return nil
        }
    #endif

    #if os(Linux)
        @Test(
            "a job's threads inherit idle priority, except those started at normal priority, as a resume is",
            .enabled(if: mayLeaveIdlePriority, "needs CAP_SYS_NICE or RLIMIT_NICE >= 20")
        )
        func threadsStartedByAJob() async throws {
            // Given: a worker whose job runs on the idle-priority thread (a patience no scheduling delay reaches)
            let worker = LowPriorityWorker(name: "inherit", patience: .seconds(60))
            // When: the job starts a thread directly, and one inside withNormalPriority
            let (direct, raised) = try await worker.run {
                (
                    Self.policyOfAThreadStartedHere(),
                    LowPriorityWorker.withNormalPriority { Self.policyOfAThreadStartedHere() }
                )
            }
            // Then: the first inherited idle priority (why a job's continuation is resumed at normal priority: the
            // cooperative pool may start a thread then), the second did not
            #expect(direct == "idle")
            #expect(raised == "normal")
            // And: the job's own thread is back at idle priority
            #expect(try await worker.run { LowPriorityWorker.currentThreadPolicy } == "idle")
        }

        private static func policyOfAThreadStartedHere() -> String {
            let done = DispatchSemaphore(value: 0)
            let policy = PolicyBox()
            Thread {
                policy.value = LowPriorityWorker.currentThreadPolicy
                done.signal()
            }
            .start()
            done.wait()
            return policy.value
        }
    #endif

    @Test("runs every job of a burst exactly once")
    func burst() async throws {
        let worker = LowPriorityWorker(name: "test")
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<500 {
                group.addTask { try await worker.run { index } }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<500))
    }

    #if os(Linux)
        @Test("its threads end once the worker is released", .timeLimit(.minutes(1)))
        func threadsEnd() async throws {
            // Given: a worker whose threads are running.
            var worker: LowPriorityWorker? = LowPriorityWorker(name: "lpwexit")
            _ = try await worker?.run { 1 }
            // Both threads name themselves as they start; the one that did not run the job may still be starting.
            while !Set(["lpwexit-idle", "lpwexit-busy"]).isSubset(of: Self.threadNames()) {
                try await Task.sleep(for: .milliseconds(5))
            }
            // When
            worker = nil
            // Then: both exit (polled, since a thread's exit is not announced to anyone).
            while Self.threadNames().contains(where: { $0.hasPrefix("lpwexit") }) {
                try await Task.sleep(for: .milliseconds(5))
            }
        }

        private static func threadNames() -> [String] {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.compactMap { task in
                (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
    #endif
}

/// A value handed from a started thread to the thread that waits for it.
private final class PolicyBox: @unchecked Sendable {
    // Written by the started thread before it signals a semaphore, read by its starter after waiting on it: the
    // semaphore orders the two accesses.
    var value = ""
}

#if os(Linux)
    /// Whether this process may move a thread out of `SCHED_IDLE`: as root (assumed to hold `CAP_SYS_NICE`), or with an
    /// `RLIMIT_NICE` that allows nice 0.
    private let mayLeaveIdlePriority: Bool = {
        var limit = rlimit()
        return geteuid() == 0
            || (getrlimit(__rlimit_resource_t(__RLIMIT_NICE.rawValue), &limit) == 0 && limit.rlim_cur >= 20)
    }()
#endif
