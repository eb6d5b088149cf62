import Foundation
import GRPCNIOTransportHTTP2
import SluiceEdge
import SluiceFastPath
import SluiceGovernance
import SluiceInference
import SluiceServer
import SluiceTesting
import SluiceVector
import Testing

@Suite("Sluice configuration")
struct SluiceConfigurationTests {
    /// Writes a configuration file to a fresh temporary path and removes it after `body`.
    private static func withFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-config-\(UUID().uuidString).json"
        )
        try Data(contents.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    /// Loads a configuration and returns its problems, or an empty list when it loaded.
    private static func problems(path: String?, environment: [String: String]) -> [String] {
        do {
            _ = try SluiceConfiguration.load(path: path, environment: environment)
            return []
        } catch let error as SluiceConfiguration.Invalid {
            return error.problems
        } catch {
            return ["unexpected error \(error)"]
        }
    }

    private static let fullFile = """
        {
          "data_dir": "/var/lib/sluice",
          "http": { "host": "0.0.0.0", "port": 9000, "max_body_bytes": 65536 },
          "services": { "inference": { "address": "10.0.0.1:7001" }, "governance": { "address": "10.0.0.2:7002" },
                        "vector": { "address": "10.0.0.3:7003" } },
          "vector": { "max_points_per_request": 500, "snapshot_wal_bytes": 65536 },
          "grpc": { "default_timeout_ms": 5000, "flush_delay_us": 250 },
          "usage": { "admission_limit": 500 },
          "performance": { "event_loop_channel": false, "fast_json": false },
          "providers": [
            { "name": "mock-openai", "kind": "openai", "base_url": "http://127.0.0.1:9001/v1",
              "api_key_env": "MOCK_OPENAI_KEY",
              "retry": { "max_attempts": 2 } },
            { "name": "echo", "kind": "echo", "echo": { "per_token_delay_ms": 5 } }
          ],
          "models": [
            { "name": "gpt-4o-mini", "deployments": [ { "provider": "mock-openai", "model": "gpt-4o-mini" },
                                                       { "provider": "echo", "model": "echo" } ] }
          ],
          "log_level": "debug"
        }
        """

    @Test("works with no file at all, with offline defaults")
    func defaults() throws {
        // When nothing is configured
        let configuration = try SluiceConfiguration.load(path: nil, environment: [:])

        // Then the defaults apply and echo is available
        #expect(configuration.dataDirectory == "./.sluice")
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.http.port == 8080)
        #expect(configuration.http.maxBodyBytes == 4 * 1024 * 1024)
        #expect(configuration.services.inference.address == "127.0.0.1:50061")
        #expect(configuration.services.governance.address == "127.0.0.1:50062")
        #expect(configuration.services.vector.address == "127.0.0.1:50063")
        #expect(configuration.vector == VectorConfiguration())
        #expect(configuration.logLevel == "info")
        #expect(configuration.usage.admissionLimit == 10_000)
        #expect(configuration.performance == SluiceConfiguration.Performance())
        #expect(configuration.performance.fastPath == FastPath())
        #expect(configuration.grpc.flushDelayUs == 0)
        #expect(configuration.inference.effectiveModels.map(\.name) == ["echo"])
    }

    @Test("reads every section of the file")
    func readsFile() throws {
        // Given a full configuration file
        let configuration = try Self.withFile(Self.fullFile) { path in
            // When it is loaded
            try SluiceConfiguration.load(path: path, environment: ["MOCK_OPENAI_KEY": "sk-test"])
        }

        // Then each key is read
        #expect(configuration.dataDirectory == "/var/lib/sluice")
        #expect(configuration.http == EdgeConfiguration(host: "0.0.0.0", port: 9000, maxBodyBytes: 65536))
        #expect(configuration.services.inference.location == .tcp(host: "10.0.0.1", port: 7001))
        #expect(configuration.services.governance.location == .tcp(host: "10.0.0.2", port: 7002))
        #expect(configuration.services.vector.location == .tcp(host: "10.0.0.3", port: 7003))
        #expect(configuration.vector.maxPointsPerRequest == 500)
        #expect(configuration.vector.snapshotWALBytes == 65536)
        #expect(configuration.vector.maxTopK == 1000)
        #expect(configuration.grpc.defaultTimeoutMs == 5000)
        #expect(configuration.grpc.streamTimeoutMs == 600_000)
        #expect(configuration.grpc.flushDelayUs == 250)
        #expect(configuration.providers.map(\.name) == ["mock-openai", "echo"])
        #expect(configuration.providers[0].retry.maxAttempts == 2)
        #expect(configuration.providers[0].retry.baseDelayMs == 200)
        #expect(configuration.providers[1].echo.perTokenDelayMs == 5)
        #expect(configuration.models.first?.deployments.map(\.provider) == ["mock-openai", "echo"])
        #expect(configuration.logLevel == "debug")
        #expect(configuration.usage.admissionLimit == 500)
        #expect(configuration.performance.fastPath == FastPath(eventLoopChannel: false, fastJSON: false))
    }

    @Test("lets the environment override the file, and finds the file through SLUICE_CONFIG")
    func environmentOverrides() throws {
        // Given a file and every override
        let configuration = try Self.withFile(Self.fullFile) { path in
            // When it is loaded through SLUICE_CONFIG with overrides
            try SluiceConfiguration.load(
                path: nil,
                environment: [
                    "SLUICE_CONFIG": path,
                    "SLUICE_DATA_DIR": "/tmp/sluice-data",
                    "SLUICE_HTTP_HOST": "::1",
                    "SLUICE_HTTP_PORT": "9100",
                    "SLUICE_INFERENCE_ADDRESS": "127.0.0.1:6001",
                    "SLUICE_GOVERNANCE_ADDRESS": "127.0.0.1:6002",
                    "SLUICE_VECTOR_ADDRESS": "127.0.0.1:6003",
                    "SLUICE_LOG_LEVEL": "warning",
                ]
            )
        }

        // Then the environment wins, and the rest comes from the file
        #expect(configuration.dataDirectory == "/tmp/sluice-data")
        #expect(configuration.http.host == "::1")
        #expect(configuration.http.port == 9100)
        #expect(configuration.http.maxBodyBytes == 65536)
        #expect(configuration.services.inference.address == "127.0.0.1:6001")
        #expect(configuration.services.governance.address == "127.0.0.1:6002")
        #expect(configuration.services.vector.address == "127.0.0.1:6003")
        #expect(configuration.logLevel == "warning")
        #expect(configuration.providers.count == 2)
    }

    @Test("lists every problem of a configuration at once, each naming its key")
    func listsEveryProblem() throws {
        // Given a file with many problems, and a bad port in the environment
        let file = """
            {
              "http": { "port": 70000, "max_body_bytes": 10 },
              "services": { "inference": { "address": "nowhere" }, "vector": { "address": "vector:port" } },
              "vector": { "snapshot_wal_bytes": 1, "compaction_deleted_ratio": 0 },
              "grpc": { "internal_token_env": "SLUICE_INTERNAL_TOKEN", "default_timeout_ms": 0, "flush_delay_us": -1,
                        "tls": { "cert_path": "/c.pem" } },
              "providers": [ { "name": "p", "kind": "openai" }, { "name": "p", "kind": "anthropic" } ],
              "models": [ { "name": "m", "deployments": [ { "provider": "ghost", "model": "x" } ] },
                          { "name": "m", "deployments": [ { "provider": "p", "model": "x" } ] } ],
              "usage": { "admission_limit": 0 },
              "log_level": "loud"
            }
            """

        // When it is loaded
        let problems = try Self.withFile(file) { path in Self.problems(path: path, environment: [:]) }
        let portProblems = Self.problems(path: nil, environment: ["SLUICE_HTTP_PORT": "eighty"])

        // Then every problem is reported
        let expected = [
            "providers[1].name 'p' is used twice",
            "models[0] (m) names unknown provider 'ghost'",
            "models[1].name 'm' is used twice",
            "http.port 70000 is out of range",
            "http.max_body_bytes must be at least 1024",
            "services.inference.address 'nowhere' is not host:port or unix:PATH (a socket path of 1 to 107 bytes)",
            "services.vector.address 'vector:port' is not host:port or unix:PATH (a socket path of 1 to 107 bytes)",
            "vector.snapshot_wal_bytes must be at least 4096",
            "vector.compaction_deleted_ratio must be in (0, 1]",
            "grpc timeouts must be positive",
            "grpc.flush_delay_us -1 is not between 0 and 10000",
            "grpc.internal_token_env names 'SLUICE_INTERNAL_TOKEN', which is not set",
            "grpc.tls needs both cert_path and key_path, or neither",
            "usage.admission_limit must be at least 1",
        ]
        for problem in expected {
            #expect(problems.contains(problem), "missing: \(problem) in \(problems)")
        }
        #expect(problems.contains { $0.contains("log_level 'loud'") })
        #expect(problems.count == expected.count + 1)
        #expect(portProblems == ["SLUICE_HTTP_PORT 'eighty' is not a port number"])
    }

    @Test("accepts the internal token variable once it is set")
    func internalTokenSet() throws {
        // Given a file that names a token variable
        let file = #"{"grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"}}"#

        // When it is loaded with the variable set
        let problems = try Self.withFile(file) { path in
            Self.problems(path: path, environment: ["SLUICE_INTERNAL_TOKEN": "s3cret"])
        }

        // Then there is no problem
        #expect(problems == [])
    }

    @Test(
        "names the key of a malformed value",
        arguments: [
            (#"{"http": {"port": "eighty"}}"#, "http.port"),
            (#"{"providers": [{"name": "p", "kind": "gemini"}]}"#, "providers[0].kind"),
            (#"{"providers": [{"kind": "openai"}]}"#, "'name' at providers[0]"),
            (
                #"{"models": [{"name": "m", "deployments": [{"provider": "echo"}]}]}"#,
                "'model' at models[0].deployments[0]"
            ),
            (#"{"grpc": {"default_timeout_ms": true}}"#, "grpc.default_timeout_ms"),
        ]
    )
    func malformedValue(file: String, key: String) throws {
        // When a file with a malformed value is loaded
        let problems = try Self.withFile(file) { path in Self.problems(path: path, environment: [:]) }

        // Then the single problem names the key
        #expect(problems.count == 1)
        #expect(problems.first?.contains(key) == true, "\(problems)")
    }

    @Test("uses the built-in price book, or the configured file, and reports a book that cannot be used")
    func priceBook() throws {
        // With no file, the built-in book
        #expect(try SluiceConfiguration().priceBook() == PriceBook.builtIn())

        // With a file, that book instead
        let book =
            #"{"version": "ops-3", "prices": [{"model": "m", "effective_from": "2025-01-01", "input": 1, "output": 2}]}"#
        let version = try Self.withFile(book) { path in
            var configuration = SluiceConfiguration()
            configuration.governance.priceBookFile = path
            return try configuration.priceBook().version
        }
        #expect(version == "ops-3")

        // A broken or missing file is a problem of the configuration, naming the key
        let broken = try Self.withFile(
            #"{"data_dir": "/tmp/x", "governance": {"price_book_file": "/nonexistent/p.json"}}"#
        ) {
            Self.problems(path: $0, environment: [:])
        }
        #expect(broken.contains { $0.hasPrefix("governance.price_book_file: cannot read '/nonexistent/p.json'") })
        let invalid = try Self.withFile(#"{"version": "v", "prices": [{"model": "m"}]}"#) { bookPath in
            try Self.withFile(#"{"governance": {"price_book_file": "\#(bookPath)"}}"#) {
                Self.problems(path: $0, environment: [:])
            }
        }
        #expect(invalid.contains { $0.hasPrefix("governance.price_book_file: the price book is not valid") })
    }

    @Test("reports a file that is not JSON or cannot be read")
    func unreadableFile() throws {
        // When a non-JSON file and a missing file are loaded
        let notJSON = try Self.withFile("data_dir = 1") { path in Self.problems(path: path, environment: [:]) }
        let missing = Self.problems(path: "/nonexistent/sluice-\(UUID().uuidString).json", environment: [:])

        // Then each gives one problem saying so
        #expect(notJSON.count == 1)
        #expect(notJSON.first?.contains("not valid JSON") == true, "\(notJSON)")
        #expect(missing.count == 1)
        #expect(missing.first?.contains("cannot read") == true, "\(missing)")
    }

    @Test("never prints a secret from the environment in the redacted configuration")
    func redactedJSON() throws {
        // Given providers and a token whose secrets are in the environment
        let file = """
            {
              "grpc": { "internal_token_env": "SLUICE_INTERNAL_TOKEN" },
              "providers": [
                { "name": "openai", "kind": "openai", "api_key_env": "OPENAI_API_KEY" },
                { "name": "claude", "kind": "anthropic", "api_key_env": "ANTHROPIC_API_KEY" },
                { "name": "azure", "kind": "azure-openai", "base_url": "https://x.openai.azure.com",
                  "api_key_env": "AZURE_KEY" }
              ]
            }
            """
        let environment = [
            "OPENAI_API_KEY": "sk-openai-very-secret-1234",
            "ANTHROPIC_API_KEY": "sk-ant-very-secret-5678",
            "SLUICE_INTERNAL_TOKEN": "internal-token-9abc",
        ]

        // When the effective configuration is printed
        let json = try Self.withFile(file) { path in
            try SluiceConfiguration.load(path: path, environment: environment).redactedJSON(environment: environment)
        }

        // Then no secret value appears, and each variable says whether it is set
        for secret in environment.values {
            #expect(!json.contains(secret))
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let secrets = try #require(object["secrets"] as? [String: String])
        #expect(secrets["OPENAI_API_KEY"] == "(set, redacted)")
        #expect(secrets["SLUICE_INTERNAL_TOKEN"] == "(set, redacted)")
        #expect(secrets["AZURE_KEY"] == "(not set)")
        #expect(object["providers"] is [Any])
    }

    @Test("reads service addresses as host:port, [IPv6]:port or unix:PATH, and refuses malformed ones")
    func serviceAddresses() throws {
        // Given addresses in every accepted form, and malformed ones
        let accepted: [(String, SluiceConfiguration.Endpoint.Location)] = [
            ("127.0.0.1:50061", .tcp(host: "127.0.0.1", port: 50061)),
            ("inference.internal:443", .tcp(host: "inference.internal", port: 443)),
            ("[::1]:7000", .tcp(host: "::1", port: 7000)),
            ("unix:/run/sluice/inference.sock", .unix(path: "/run/sluice/inference.sock")),
            ("unix:///run/sluice/inference.sock", .unix(path: "/run/sluice/inference.sock")),
            ("unix:inference.sock", .unix(path: "inference.sock")),
            ("unix:/" + String(repeating: "s", count: 106), .unix(path: "/" + String(repeating: "s", count: 106))),
        ]
        let refused = [
            "nowhere", "host:", ":80", "host:+80", "host:65536", "host:123456", "host:8o",
            "unix:", "unix://", "unix:/" + String(repeating: "s", count: 107), "unix:/a\u{0}b",
        ]

        // When they are parsed
        // Then the accepted ones name their place, and each refused one is a problem naming its key
        for (address, location) in accepted {
            #expect(SluiceConfiguration.Endpoint(address: address).location == location, "\(address)")
        }
        for address in refused {
            #expect(SluiceConfiguration.Endpoint(address: address).location == nil, "\(address)")
            let problems = Self.problems(path: nil, environment: ["SLUICE_INFERENCE_ADDRESS": address])
            #expect(
                problems.contains {
                    $0.hasPrefix("services.inference.address '\(address)' is not host:port or unix:PATH")
                }
            )
        }
    }

    @Test("sends each gRPC flush at once unless grpc.flush_delay_us asks for coalescing, on servers and clients")
    func flushCoalescing() throws {
        // Given the default settings, and settings asking for 250 µs of coalescing
        let byDefault = SluiceRuntime(configuration: SluiceConfiguration(), environment: [:], logger: .silent)
        let coalescing = try Self.withFile(#"{ "grpc": { "flush_delay_us": 250 } }"#) { path in
            SluiceRuntime(
                configuration: try SluiceConfiguration.load(path: path, environment: [:]),
                environment: [:],
                logger: .silent
            )
        }

        // When the transports are configured
        // Then coalescing is off by default, and follows the setting when one is given
        #expect(byDefault.serverTransportConfig().connection.flushCoalescing == nil)
        #expect(byDefault.clientTransportConfig().connection.flushCoalescing == nil)
        let server = try #require(coalescing.serverTransportConfig().connection.flushCoalescing)
        let client = try #require(coalescing.clientTransportConfig().connection.flushCoalescing)
        #expect(server.maxFlushDelay == .microseconds(250))
        #expect(client.maxFlushDelay == .microseconds(250))
        #expect(server.maxBytes == SluiceRuntime.flushCoalescingBytes)
        #expect(client.maxBytes == SluiceRuntime.flushCoalescingBytes)
    }
}
