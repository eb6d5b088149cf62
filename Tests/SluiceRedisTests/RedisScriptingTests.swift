import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis client: Lua scripts", .timeLimit(.minutes(1)))
struct RedisScriptingTests {
    private static let incrementWithExpiry = RedisScript(
        """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return count
        """
    )

    @Test("EVALSHA is used once Redis has the script, and EVAL again after SCRIPT FLUSH")
    func noscriptFallback() async throws {
        try await withRedis { _, redis in
            // Given: the script's SHA1 is the one Redis computes
            let script = Self.incrementWithExpiry
            #expect(try await redis.send(["SCRIPT", "LOAD", script.source]).string == script.sha1)
            _ = try await redis.send(["SCRIPT", "FLUSH"])
            // When: not cached, then cached
            #expect(try await redis.evaluate(script, keys: ["rate"], arguments: ["60000"]) == .integer(1))
            #expect(try await redis.evaluate(script, keys: ["rate"], arguments: ["60000"]) == .integer(2))
            // Then: one EVAL, and EVALSHA for the rest
            #expect(try await calls(of: "eval", redis) == 1)
            #expect(try await calls(of: "evalsha", redis) == 2)
            #expect(try await redis.send(["PTTL", "rate"]).integer.map { $0 > 0 && $0 <= 60_000 } == true)

            // When: the cache is flushed (as a restart would)
            _ = try await redis.send(["SCRIPT", "FLUSH"])
            #expect(try await redis.evaluate(script, keys: ["rate"], arguments: ["60000"]) == .integer(3))
            // Then
            #expect(try await calls(of: "eval", redis) == 2)
            #expect(try await redis.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
        }
    }

    @Test("a script returning a table answers an array, nested, with every reply kind")
    func arrayResult() async throws {
        try await withRedis { _, redis in
            // Given
            let script = RedisScript(
                """
                return {KEYS[1], tonumber(ARGV[1]) * 2, {ARGV[2], redis.status_reply('FINE')}, redis.call('GET', 'nil')}
                """
            )
            // When
            let reply = try await redis.evaluate(script, keys: ["k"], arguments: ["21", "inner"])
            // Then: GET of a missing key is false in Lua, and null in the reply
            #expect(
                reply
                    == .array([
                        .bulkString(Array("k".utf8)), .integer(42),
                        .array([.bulkString(Array("inner".utf8)), .status("FINE")]), .null,
                    ])
            )
        }
    }

    @Test("a Lua error, and an error the script returns, are reply errors")
    func luaErrors() async throws {
        try await withRedis { _, redis in
            let runtime = await #expect(throws: RedisError.self) {
                try await redis.evaluate(RedisScript("return nosuchglobal.x"), keys: [], arguments: [])
            }
            #expect(runtime?.code == .reply)
            #expect(runtime?.message.contains("nosuchglobal") == true)
            let returned = await #expect(throws: RedisError.self) {
                try await redis.evaluate(
                    RedisScript("return redis.error_reply('LIMITED over quota')"),
                    keys: [],
                    arguments: []
                )
            }
            #expect(returned?.code == .reply)
            #expect(returned?.replyCode == "LIMITED")
        }
    }

    /// How many times Redis ran a command, from `INFO commandstats`.
    private func calls(of command: String, _ redis: RedisClient) async throws -> Int {
        let info = try await redis.send(["INFO", "commandstats"]).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(calls) ?? 0
    }
}
