import Logging
import SluiceRedis
import SluiceTesting
import Synchronization

/// Runs `body` with a fresh `redis-server` and a client connected to it; stops both afterwards, also on failure.
///
/// - Parameters:
///   - password: The server's `--requirepass`, also given to the client.
///   - connections: The client's number of connections.
///   - logs: Where the client's log lines go; a fresh recorder by default.
///   - configure: Further changes to the client's configuration.
///   - body: The test.
/// - Returns: What `body` returns.
func withRedis<T>(
    password: String? = nil,
    connections: Int = 2,
    logs: LogRecorder = LogRecorder(),
    configure: (inout RedisConfiguration) -> Void = { _ in },
    _ body: (RedisServerProcess, RedisClient) async throws -> T
) async throws -> T {
    let server = try await RedisServerProcess(password: password)
    defer { server.stop() }
    let configuration = server.configuration {
        $0.connections = connections
        configure(&$0)
    }
    let client = try RedisClient(configuration: configuration, logger: logs.logger)
    do {
        let result = try await body(server, client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Calls `operation` until it succeeds or the deadline passes; for waiting on recovery, never as a sleep.
///
/// - Parameters:
///   - timeout: How long to keep trying.
///   - operation: The attempt.
/// - Returns: The first success.
func eventually<T>(
    within timeout: Duration = .seconds(10),
    _ operation: () async throws -> T
) async throws -> T {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        do {
            return try await operation()
        } catch {
            if ContinuousClock.now >= deadline { throw error }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}

/// Polls `condition` until it holds, failing after the deadline; for waiting on state, never as a sleep.
///
/// - Parameters:
///   - timeout: How long to keep polling.
///   - condition: The state to wait for.
func waitUntil(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(timeout: timeout) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A condition polled by ``waitUntil(within:_:)`` did not hold in time.
struct TimedOut: Error, CustomStringConvertible {
    /// How long it was polled.
    var timeout: Duration
    /// A readable form.
    var description: String { "the condition did not hold within \(timeout)" }
}

/// Runs `operation`, which must fail, and returns its error and how long it took.
///
/// - Parameter operation: The call expected to fail.
/// - Returns: The error (`nil` if it succeeded) and the elapsed time.
func failure(of operation: () async throws -> some Any) async -> (error: (any Error)?, elapsed: Duration) {
    let start = ContinuousClock.now
    do {
        _ = try await operation()
        return (nil, start.duration(to: .now))
    } catch {
        return (error, start.duration(to: .now))
    }
}

/// Collects a logger's lines, so tests can count warnings and look for secrets.
final class LogRecorder: Sendable {
    /// One log line with its metadata rendered.
    struct Entry: Sendable {
        /// The level.
        var level: Logger.Level
        /// The message and metadata as one text.
        var text: String
    }

    private let storage = Mutex<[Entry]>([])

    /// A logger writing into this recorder, at trace level.
    var logger: Logger {
        var logger = Logger(label: "redis-test") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    /// The lines so far.
    var entries: [Entry] { storage.withLock { $0 } }

    /// The lines so far at a level.
    ///
    /// - Parameter level: The level.
    /// - Returns: Their texts.
    func lines(at level: Logger.Level) -> [String] { entries.filter { $0.level == level }.map(\.text) }

    fileprivate func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            recorder.append(Entry(level: event.level, text: "\(event.message) \(rendered)"))
        }
    }
}
