import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis client: AUTH and SELECT", .timeLimit(.minutes(1)))
struct RedisAuthenticationTests {
    @Test("authenticates with the password and selects the database on every connection")
    func authAndSelect() async throws {
        // Given: a server that needs a password, and a client for database 3 with four connections
        let password = "correct horse"
        try await withRedis(password: password, connections: 4, configure: { $0.database = 3 }) { server, redis in
            // When: enough concurrent calls that every connection is used
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 { group.addTask { _ = try await redis.send(["SET", "key-\(index)", "v"]) } }
                try await group.waitForAll()
            }
            // Then: every connection authenticated and selected database 3
            let clients = try await redis.send(["CLIENT", "LIST"]).string ?? ""
            let lines = clients.split(whereSeparator: \.isNewline)
            #expect(lines.count == 4)
            #expect(lines.allSatisfy { $0.contains(" db=3 ") })
            #expect(try await redis.send(["DBSIZE"]) == .integer(200))
            let databaseZero = try RedisClient(
                configuration: try RedisConfiguration(url: "redis://:correct%20horse@127.0.0.1:\(server.port)/0"),
                logger: LogRecorder().logger
            )
            #expect(try await databaseZero.send(["DBSIZE"]) == .integer(0))
            await databaseZero.shutdown()
        }
    }

    @Test("authenticates as an ACL user from a user:password URL")
    func aclUser() async throws {
        try await withRedis(password: "admin-pass") { server, admin in
            // Given
            _ = try await admin.send(["ACL", "SETUSER", "alice", "on", ">alice-pass", "~*", "+@all"])
            let alice = try RedisClient(
                configuration: try RedisConfiguration(url: "redis://alice:alice-pass@127.0.0.1:\(server.port)"),
                logger: LogRecorder().logger
            )
            // When / Then
            #expect(try await alice.send(["ACL", "WHOAMI"]).string == "alice")
            await alice.shutdown()
        }
    }

    @Test("a wrong password is a clear unavailable error that never contains the password")
    func wrongPassword() async throws {
        // Given
        let logs = LogRecorder()
        let wrong = "wrong-secret-4711"
        try await withRedis(password: "the-right-one", logs: logs, configure: { $0.password = wrong }) { _, redis in
            // When
            let error = await #expect(throws: RedisError.self) { try await redis.send(["PING"]) }
            // Then
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("AUTH failed: WRONGPASS") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("127.0.0.1") == true)
            #expect(error.map { "\($0)" }?.contains("wrong-secret-4711") == false)
            #expect(!logs.entries.isEmpty)
            #expect(logs.entries.allSatisfy { !$0.text.contains("wrong-secret-4711") })
            #expect(!"\(redis.configuration)".contains("wrong-secret-4711"))
        }
    }

    @Test("without the password a server that needs one answers NOAUTH as a reply error")
    func missingPassword() async throws {
        try await withRedis(password: "needed", configure: { $0.password = nil }) { _, redis in
            let error = await #expect(throws: RedisError.self) { try await redis.send(["GET", "k"]) }
            #expect(error?.code == .reply)
            #expect(error?.replyCode == "NOAUTH")
        }
    }
}
