import Logging
import SluiceTesting
import Testing

@testable import SluiceRedis

@Suite("Redis configuration")
struct RedisConfigurationTests {
    @Test(
        "reads endpoint, credentials and database from a URL",
        arguments: [
            ("redis://127.0.0.1", RedisConfiguration.Endpoint.tcp(host: "127.0.0.1", port: 6379), nil, nil, 0),
            ("redis://cache.internal:6380/2", .tcp(host: "cache.internal", port: 6380), nil, nil, 2),
            ("redis://:s3cret@10.0.0.5:6379/", .tcp(host: "10.0.0.5", port: 6379), nil, "s3cret", 0),
            ("REDIS://alice:p%40ss%3Aw%2Frd@redis:7000/15", .tcp(host: "redis", port: 7000), "alice", "p@ss:w/rd", 15),
            ("redis://:a@b@localhost", .tcp(host: "localhost", port: 6379), nil, "a@b", 0),
            ("redis://[::1]:6390/1", .tcp(host: "::1", port: 6390), nil, nil, 1),
            ("redis://[::1]", .tcp(host: "::1", port: 6379), nil, nil, 0),
            ("unix:///run/redis/redis.sock", .unixSocket(path: "/run/redis/redis.sock"), nil, nil, 0),
            ("unix://:pw@/tmp/r.sock?db=3", .unixSocket(path: "/tmp/r.sock"), nil, "pw", 3),
        ] as [(String, RedisConfiguration.Endpoint, String?, String?, Int)]
    )
    func parses(
        url: String,
        endpoint: RedisConfiguration.Endpoint,
        user: String?,
        password: String?,
        database: Int
    ) throws {
        // When
        let configuration = try RedisConfiguration(url: url)
        // Then
        #expect(configuration.endpoint == endpoint)
        #expect(configuration.username == user)
        #expect(configuration.password == password)
        #expect(configuration.database == database)
        #expect(configuration.connections == 2)
        #expect(configuration.connectTimeout == .seconds(1))
        #expect(configuration.commandTimeout == .seconds(1))
    }

    @Test(
        "rejects a malformed URL with an error naming the problem and not repeating the URL",
        arguments: [
            ("", "is empty"),
            ("127.0.0.1:6379", "has no scheme"),
            ("http://:topsecret@host", "unsupported scheme"),
            ("rediss://:topsecret@host", "TLS"),
            ("redis://", "has no host"),
            ("redis://:topsecret@", "has no host"),
            ("redis://:topsecret/host", "has no host"),
            ("redis://host:0", "port"),
            ("redis://host:65536", "port"),
            ("redis://host:+80", "port"),
            ("redis://:topsecret@host:port", "port"),
            ("redis://host:", "port"),
            ("redis://::1:6379", "IPv6"),
            ("redis://[::1", "unclosed IPv6"),
            ("redis://[topsecret]:6379", "IPv6"),
            ("redis://ho st", "spaces"),
            ("redis://h\u{F6}st", "not allowed in a host name"),
            ("redis://host/db1", "database"),
            ("redis://host/1/2", "database"),
            ("redis://host/-1", "database"),
            ("redis://host/99999999999", "database"),
            ("redis://host?db=1", "query"),
            ("redis://host#topsecret", "fragment"),
            ("redis://topsecret@host", "user name but no password"),
            ("redis://alice:@host", "empty password"),
            ("redis://:top%zzsecret@host", "percent-escape in its password"),
            ("redis://:%FF@host", "not UTF-8"),
            ("unix://", "no socket path"),
            ("unix:///", "no socket path"),
            ("unix://host/tmp/r.sock", "socket path after unix://"),
            ("unix:///tmp/r.sock?db=x", "database"),
            ("unix:///tmp/r.sock?password=topsecret", "query other than ?db=N"),
        ]
    )
    func rejects(url: String, problem: String) {
        // When
        let error = #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
        // Then
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "no error")")
        #expect(error?.message.hasPrefix("The Redis URL ") == true)
        #expect(error?.description.contains("topsecret") == false)
    }

    @Test("never shows the password in descriptions, mirrors or dumps")
    func redacted() throws {
        // Given
        let configuration = try RedisConfiguration(url: "redis://alice:hunter2-secret@10.0.0.5:6380/4")
        var dumped = ""
        dump(configuration, to: &dumped)
        // Then
        #expect(configuration.description == "redis://alice:***@10.0.0.5:6380/4")
        for text in [
            configuration.description, configuration.debugDescription, String(reflecting: configuration),
            "\(configuration)", dumped,
        ] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
        #expect(configuration.debugDescription.contains("connections: 2"))
        #expect(RedisConfiguration.defaults.description == "redis://127.0.0.1:6379")
        #expect(
            try RedisConfiguration(url: "unix://:pw@/tmp/r.sock?db=3").description == "unix://:***@/tmp/r.sock?db=3"
        )
        #expect(RedisConfiguration(endpoint: .tcp(host: "::1", port: 6379)).description == "redis://[::1]:6379")
    }

    @Test(
        "a client refuses settings it cannot work with",
        arguments: [
            (RedisConfiguration.defaults { $0.connections = 0 }, "at least 1"),
            (RedisConfiguration.defaults { $0.commandTimeout = .zero }, "command timeout"),
            (RedisConfiguration.defaults { $0.connectTimeout = .milliseconds(-1) }, "connect timeout"),
            (RedisConfiguration.defaults { $0.database = -1 }, "database"),
            (RedisConfiguration.defaults { $0.maximumReconnectDelay = .milliseconds(10) }, "reconnect delays"),
            (RedisConfiguration.defaults { $0.endpoint = .tcp(host: "", port: 6379) }, "host"),
            (RedisConfiguration.defaults { $0.endpoint = .tcp(host: "h", port: 70_000) }, "port"),
            (RedisConfiguration.defaults { $0.username = "alice" }, "needs a password"),
        ]
    )
    func invalidSettings(configuration: RedisConfiguration, problem: String) {
        let error = #expect(throws: RedisError.self) {
            try RedisClient(configuration: configuration, logger: Logger(label: "test"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "no error")")
    }
}
