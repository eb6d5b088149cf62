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
            holding.signal()
            release.wait()
            return LowPriorityWorker.currentThreadPolicy
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
        // waited past its patience and ran at normal priority.
        #if os(Linux)
            #expect([first, second].sorted() == ["idle", "normal"])
        #else
            #expect(second == "normal")
        #endif
    }

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
