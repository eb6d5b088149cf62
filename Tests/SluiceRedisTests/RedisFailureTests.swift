import Logging
import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis client: timeouts, outages and shutdown", .timeLimit(.minutes(1)))
struct RedisFailureTests {
    @Test("a command that does not answer in time fails as unavailable, promptly, and the client recovers")
    func commandTimeout() async throws {
        let logs = LogRecorder()
        let timeout = Duration.milliseconds(200)
        try await withRedis(connections: 1, logs: logs, configure: { $0.commandTimeout = timeout }) { _, redis in
            // Given
            _ = try await redis.send(["SET", "k", "v"])
            // When: Redis is busy for 2 s
            let (error, elapsed) = await failure { try await redis.send(["DEBUG", "SLEEP", "2"]) }
            // Then
            let redisError = try #require(error as? RedisError)
            #expect(redisError.code == .unavailable)
            #expect(redisError.message.contains("no reply within 200 ms"), "\(redisError.message)")
            #expect(elapsed >= .milliseconds(190))
            #expect(elapsed < .milliseconds(1500))
            // And once Redis answers again, so does the client, on a new connection
            let reply = try await eventually { try await redis.send(["GET", "k"]) }
            #expect(reply.string == "v")
            // The calls that reconnected during the stall and timed out again add no log lines
            #expect(logs.lines(at: .warning).count == 1, "\(logs.lines(at: .warning))")
            #expect(logs.lines(at: .info).count == 1, "\(logs.lines(at: .info))")
        }
    }

    @Test("Redis killed: calls fail fast as unavailable; restarted on the same port: the client recovers by itself")
    func killAndRestart() async throws {
        // Given: a server with a password, so recovery also proves AUTH is sent again
        let logs = LogRecorder()
        try await withRedis(password: "restart-secret", connections: 1, logs: logs) { server, redis in
            _ = try await redis.send(["SET", "before", "kill"])
            // When
            server.kill()
            // Then: every call fails, each within a bounded time
            for _ in 0..<5 {
                let (error, elapsed) = await failure { try await redis.send(["GET", "before"]) }
                #expect((error as? RedisError)?.code == .unavailable, "\(String(describing: error))")
                #expect(elapsed < .seconds(2))
            }
            // When: restarted on the same port
            try await server.restart()
            // Then: the client reconnects on its own (a fresh server holds no keys)
            let reply = try await eventually { try await redis.send(["GET", "before"]) }
            #expect(reply == .null)
            #expect(try await redis.send(["SET", "after", "restart"]) == .status("OK"))
            // One warning for the outage, one info for the recovery, and never the password
            #expect(logs.lines(at: .warning).count == 1, "\(logs.lines(at: .warning))")
            #expect(logs.lines(at: .info).count == 1, "\(logs.lines(at: .info))")
            #expect(logs.entries.allSatisfy { !$0.text.contains("restart-secret") })
        }
    }

    @Test("an idle connection Redis closed is replaced before the next call, which succeeds at once")
    func staleConnection() async throws {
        try await withRedis(password: "idle-secret", connections: 1) { server, redis in
            // Given: a connection made, then Redis restarted while the client is idle
            _ = try await redis.send(["SET", "k", "v"])
            server.kill()
            try await server.restart()
            // When
            let reply = try await redis.send(["PING"])
            // Then
            #expect(reply == .status("PONG"))
        }
    }

    @Test("Redis dropping the connection while the client writes fails the call as unavailable; the next reconnects")
    func closedWhileWriting() async throws {
        try await withRedis(connections: 1) { _, redis in
            // Given: Redis drops any client that sends a bulk string over 1 MB, as soon as it reads its length
            _ = try await redis.send(["CONFIG", "SET", "proto-max-bulk-len", "1048576"])
            let huge = [UInt8](repeating: 0x78, count: 32 << 20)
            // When: the client is still writing 32 MB when Redis closes the socket
            let (error, _) = await failure { try await redis.send([Array("SET".utf8), Array("huge".utf8), huge]) }
            // Then
            #expect((error as? RedisError)?.code == .unavailable, "\(String(describing: error))")
            #expect(try await redis.send(["PING"]) == .status("PONG"))
        }
    }

    @Test("while Redis is unreachable, calls after a failed attempt fail fast until the back-off passes")
    func failFast() async throws {
        // Given: nothing listens on the port, and a long back-off
        let port = try RedisServerProcess.freePort()
        let logs = LogRecorder()
        let redis = try RedisClient(
            configuration: .defaults {
                $0.endpoint = .tcp(host: "127.0.0.1", port: port)
                $0.minimumReconnectDelay = .seconds(30)
                $0.maximumReconnectDelay = .seconds(30)
            },
            logger: logs.logger
        )
        // When
        let first = await failure { try await redis.send(["PING"]) }
        let second = await failure { try await redis.send(["PING"]) }
        let pipelined = await failure { try await redis.pipeline([["PING"], ["PING"]]) }
        // Then: the first call tried and was refused; the later ones did not try
        let firstError = try #require(first.error as? RedisError)
        #expect(firstError.code == .unavailable)
        #expect(firstError.message.hasPrefix("Redis at 127.0.0.1:\(port) is unavailable: "))
        #expect(first.elapsed < .seconds(2))
        for outcome in [second, pipelined] {
            let error = try #require(outcome.error as? RedisError)
            #expect(error.code == .unavailable)
            #expect(error.message.contains("next connection attempt in"), "\(error.message)")
            #expect(outcome.elapsed < .milliseconds(500))
        }
        #expect(logs.lines(at: .warning).count == 1)
        await redis.shutdown()
    }

    @Test("shutdown answers the command being sent, fails the queued ones, and is idempotent")
    func shutdown() async throws {
        try await withRedis(connections: 1, configure: { $0.commandTimeout = .seconds(30) }) { server, redis in
            // Given: one command in flight (blocked in Redis until another client opens the gate), three queued
            async let gated = redis.send(["BLPOP", "gate", "0"])
            try await waitUntil { redis.queueDepths[0].inFlight == 1 }
            let queued = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<3 { group.addTask { _ = try await redis.send(["PING"]) } }
                    try await group.waitForAll()
                }
            }
            try await waitUntil { redis.queueDepths[0].queued == 3 }
            // When: two shutdowns at once
            async let first: Void = redis.shutdown()
            async let second: Void = redis.shutdown()
            // Then: the queued commands fail at once, while the one in flight still waits for its answer
            let queuedError = await #expect(throws: RedisError.self) { try await queued.value }
            #expect(queuedError?.code == .shutdown)
            let opener = try RedisClient(configuration: server.configuration(), logger: LogRecorder().logger)
            _ = try await opener.send(["LPUSH", "gate", "open"])
            await opener.shutdown()
            #expect(try await gated == .array([.bulkString(Array("gate".utf8)), .bulkString(Array("open".utf8))]))
            _ = await (first, second)
            let later = await #expect(throws: RedisError.self) { try await redis.send(["PING"]) }
            #expect(later?.code == .shutdown)
            await redis.shutdown()
        }
    }
}
