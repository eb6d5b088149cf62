import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis client: commands and replies", .timeLimit(.minutes(1)))
struct RedisClientTests {
    @Test("SET, GET and INCR round trip, each reply of its kind")
    func replyKinds() async throws {
        try await withRedis { _, redis in
            // When
            let set = try await redis.send(["SET", "greeting", "hello"])
            // Then
            #expect(set == .status("OK"))
            #expect(try await redis.send(["GET", "greeting"]) == .bulkString(Array("hello".utf8)))
            #expect(try await redis.send(["GET", "greeting"]).string == "hello")
            #expect(try await redis.send(["GET", "missing"]) == .null)
            #expect(try await redis.send(["INCR", "counter"]) == .integer(1))
            #expect(try await redis.send(["INCRBY", "counter", "41"]).integer == 42)
            #expect(try await redis.send(["RPUSH", "list", "a", "b", ""]) == .integer(3))
            #expect(
                try await redis.send(["LRANGE", "list", "0", "-1"])
                    == .array([.bulkString(Array("a".utf8)), .bulkString(Array("b".utf8)), .bulkString([])])
            )
            #expect(try await redis.send(["LRANGE", "missing", "0", "-1"]) == .array([]))
            #expect(try await redis.send(["BLPOP", "missing", "0.01"]) == .null)  // the null array
            #expect(try await redis.send(["PING"]) == .status("PONG"))
        }
    }

    @Test("an error reply is thrown as a reply error, and the connection stays usable")
    func errorReply() async throws {
        try await withRedis { _, redis in
            // Given
            _ = try await redis.send(["SET", "text", "x"])
            // When
            let error = await #expect(throws: RedisError.self) { try await redis.send(["LPUSH", "text", "y"]) }
            let unknown = await #expect(throws: RedisError.self) { try await redis.send(["NOSUCHCOMMAND"]) }
            // Then
            #expect(error?.code == .reply)
            #expect(error?.replyCode == "WRONGTYPE")
            #expect(error?.message.hasPrefix("WRONGTYPE Operation against a key holding the wrong kind") == true)
            #expect(unknown?.code == .reply)
            #expect(unknown?.replyCode == "ERR")
            #expect(try await redis.send(["GET", "text"]).string == "x")
        }
    }

    @Test("arguments and values are binary-safe")
    func binary() async throws {
        try await withRedis { _, redis in
            // Given: every byte value, CR LF and NUL included, in the key and the value
            let value = (0...255).map { UInt8($0) } + Array("\r\n$-1\r\n".utf8)
            let key: [UInt8] = [0x6B, 0x00, 0x0D, 0x0A, 0xFF]
            // When
            _ = try await redis.send([Array("SET".utf8), key, value])
            let reply = try await redis.send([Array("GET".utf8), key])
            // Then
            #expect(reply.bytes == value)
            #expect(try await redis.send(["STRLEN", String(decoding: key, as: UTF8.self)]) == .integer(0))
            #expect(try await redis.send([Array("STRLEN".utf8), key]) == .integer(Int64(value.count)))
        }
    }

    @Test("2,000 concurrent INCRs from as many tasks each get their own reply, and count to exactly 2,000")
    func concurrentIncrements() async throws {
        try await withRedis { _, redis in
            // When
            let replies = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<2000 {
                    group.addTask { try #require(try await redis.send(["INCR", "hits"]).integer) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Then
            #expect(replies.sorted() == Array(1...2000))
            #expect(try await redis.send(["GET", "hits"]).string == "2000")
        }
    }

    @Test("a pipeline's replies come back in order, with error replies in place")
    func pipelineOrder() async throws {
        try await withRedis { _, redis in
            // When
            let pushes = try await redis.pipeline((0..<500).map { ["RPUSH", "ordered", "\($0)"] })
            let mixed = try await redis.pipeline([
                ["SET", "s", "x"], ["LPUSH", "s", "y"], ["GET", "s"], ["ECHO", "last"],
            ])
            // Then
            #expect(pushes == (1...500).map { RedisReply.integer(Int64($0)) })
            let list = try await redis.send(["LRANGE", "ordered", "0", "-1"])
            #expect(list.array?.compactMap(\.string) == (0..<500).map { "\($0)" })
            #expect(mixed.count == 4)
            #expect(mixed[0] == .status("OK"))
            guard case .error(let message) = mixed[1] else {
                Issue.record("expected an error reply, got \(mixed[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(mixed[2].string == "x")
            #expect(mixed[3].string == "last")
            #expect(try await redis.pipeline([] as [[String]]).isEmpty)
        }
    }

    @Test("concurrent pipelines are not interleaved: each gets exactly its own replies")
    func concurrentPipelines() async throws {
        try await withRedis { _, redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<40 {
                    group.addTask {
                        let expected = (0..<50).map { "task-\(task)-\($0)" }
                        let replies = try await redis.pipeline(expected.map { ["ECHO", $0] })
                        #expect(replies.map(\.string) == expected)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("an empty command is refused before anything is sent")
    func emptyCommand() async throws {
        try await withRedis { _, redis in
            let error = await #expect(throws: RedisError.self) { try await redis.send([] as [String]) }
            #expect(error?.code == .invalidCommand)
            let inPipeline = await #expect(throws: RedisError.self) {
                try await redis.pipeline([["PING"], []])
            }
            #expect(inPipeline?.code == .invalidCommand)
            let ping = try await redis.send(["PING"])
            #expect(ping == .status("PONG"))
        }
    }

    @Test("connects over a Unix domain socket")
    func unixSocket() async throws {
        let server = try await RedisServerProcess()
        defer { server.stop() }
        let redis = try RedisClient(
            configuration: try RedisConfiguration(url: "unix://\(server.socketPath)?db=1"),
            logger: LogRecorder().logger
        )
        _ = try await redis.send(["SET", "over", "socket"])
        #expect(try await redis.send(["GET", "over"]).string == "socket")
        let info = try await redis.send(["CLIENT", "INFO"]).string ?? ""
        #expect(info.contains("db=1"))
        await redis.shutdown()
    }
}
