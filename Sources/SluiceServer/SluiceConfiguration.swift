package import SluiceEdge
package import SluiceFastPath
package import SluiceInference
package import SluiceVector

/// The whole configuration of a Sluice process: one JSON file plus environment overrides.
///
/// Every key has a default that works offline, so `sluice serve` runs with no file at all. Secrets are never
/// in the file: providers name the environment variable that holds their key.
///
/// Configuration keys (file, snake_case) and environment overrides:
/// - `data_dir` / `SLUICE_DATA_DIR` (`./.sluice`): SQLite database, tokenizer files.
/// - `http.host` / `SLUICE_HTTP_HOST` (`127.0.0.1`), `http.port` / `SLUICE_HTTP_PORT` (`8080`),
///   `http.max_body_bytes` (4 MiB).
/// - `services.inference.address` / `SLUICE_INFERENCE_ADDRESS` (`127.0.0.1:50061`),
///   `services.governance.address` / `SLUICE_GOVERNANCE_ADDRESS` (`127.0.0.1:50062`),
///   `services.vector.address` / `SLUICE_VECTOR_ADDRESS` (`127.0.0.1:50063`): where a service served alone listens,
///   and where the others dial it. The vector service also listens there in `sluice serve`, for gRPC clients.
///   `unix:PATH` instead of `host:port` puts a service on a Unix domain socket, for processes on one host.
/// - `grpc.default_timeout_ms` (10000): deadline of every unary call between services;
///   `grpc.stream_timeout_ms` (600000): deadline of a whole stream;
///   `grpc.internal_token_env`: the variable holding a shared token that services demand as
///   `authorization: Bearer …`; `grpc.tls`: `cert_path`, `key_path` (server), `ca_path` (client trust).
/// - `providers`, `models`: see ``InferenceConfiguration``.
/// - `vector`: limits, snapshots and compaction of the vector service; see ``VectorConfiguration``.
/// - `performance`: the speed machinery, each piece on by default and switchable off; see ``Performance``.
/// - `usage.admission_limit` (10000): how many usage records may wait for the ledger before new requests wait
///   (backpressure; see ``UsageRecorder``).
/// - `governance.price_book_file`: a price book (the format of `Sources/SluiceGovernance/Resources/price-book.json`)
///   that replaces the one Sluice ships; `governance.database` / `SLUICE_GOVERNANCE_DATABASE`: the governance
///   SQLite file (default `<data_dir>/governance.sqlite`), which replicas on one host may share;
///   `governance.limits`: how requests count against rate limits and budgets; see ``Governance``.
/// - `redis.url` / `SLUICE_REDIS_URL` (unset): Redis shared by governance replicas for rate limits and budget
///   reservations (`redis://[:password@]host:port[/db]`); unset keeps them in process. See ``Redis``.
/// - `log_level` / `SLUICE_LOG_LEVEL` (`info`).
package struct SluiceConfiguration: Sendable, Hashable, Codable {
    /// The data directory.
    package var dataDirectory: String = "./.sluice"
    /// The HTTP edge.
    package var http = EdgeConfiguration()
    /// Where each service listens when served alone.
    package var services = Services()
    /// gRPC settings between services.
    package var grpc = GRPC()
    /// Providers.
    package var providers: [ProviderConfiguration] = []
    /// Public models.
    package var models: [ModelConfiguration] = []
    /// The vector service.
    package var vector = VectorConfiguration()
    /// How the edge hands usage records to the ledger.
    package var usage = Usage()
    /// Governance settings.
    package var governance = Governance()
    /// Redis, when replicas share limits.
    package var redis = Redis()
    /// The speed machinery in use.
    package var performance = Performance()
    /// The log level: trace, debug, info, notice, warning, error, critical.
    package var logLevel: String = "info"

    /// Creates the default configuration.
    package init() {}

    /// The inference part of the configuration.
    package var inference: InferenceConfiguration {
        InferenceConfiguration(providers: providers, models: models)
    }

    enum CodingKeys: String, CodingKey {
        case http, services, grpc, providers, models, vector, usage, governance, performance, redis
        case dataDirectory = "data_dir"
        case logLevel = "log_level"
    }

    /// Decodes from the configuration file; absent keys keep their defaults.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dataDirectory = try container.decodeIfPresent(String.self, forKey: .dataDirectory) ?? dataDirectory
        http = try container.decodeIfPresent(EdgeConfiguration.self, forKey: .http) ?? http
        services = try container.decodeIfPresent(Services.self, forKey: .services) ?? services
        grpc = try container.decodeIfPresent(GRPC.self, forKey: .grpc) ?? grpc
        providers = try container.decodeIfPresent([ProviderConfiguration].self, forKey: .providers) ?? []
        models = try container.decodeIfPresent([ModelConfiguration].self, forKey: .models) ?? []
        vector = try container.decodeIfPresent(VectorConfiguration.self, forKey: .vector) ?? vector
        usage = try container.decodeIfPresent(Usage.self, forKey: .usage) ?? usage
        governance = try container.decodeIfPresent(Governance.self, forKey: .governance) ?? governance
        redis = try container.decodeIfPresent(Redis.self, forKey: .redis) ?? redis
        performance = try container.decodeIfPresent(Performance.self, forKey: .performance) ?? performance
        logLevel = try container.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
    }

    /// The speed machinery: each piece bypasses an anchor library for a measured gain (decision record 0005) and can
    /// be switched off, leaving the anchor alone.
    ///
    /// Configuration keys (section `performance`, all `true` by default):
    /// - `event_loop_channel`: edge connections on ``LoopHTTP1Channel`` rather than Hummingbird's `HTTP1Channel`.
    /// - `event_loop_executors`: a service served alone runs on one event loop, its tasks pinned to it
    ///   (`EventLoopTaskExecutor`), rather than on NIO's shared group and Swift's global executor.
    /// - `plain_http_client`: `http://` upstreams through `PlainHTTPClient` rather than async-http-client; only where
    ///   calls run on their event loop (with `event_loop_channel` in `serve`, `event_loop_executors` in
    ///   `serve inference`).
    /// - `fast_json`: the chat path's JSON (edge requests and answers, OpenAI-compatible upstream requests and answers)
    ///   read and written with `SluiceFastPath`'s reader and writer rather than `Codable`.
    /// - `exchange_streams`: an edge served alone calls inference over `Exchange` streams rather than one gRPC call
    ///   per chat.
    package struct Performance: Sendable, Hashable, Codable {
        /// Edge connections on the event-loop channel.
        package var eventLoopChannel = true
        /// Services served alone pinned to one event loop.
        package var eventLoopExecutors = true
        /// `http://` upstreams through the plain client.
        package var plainHTTPClient = true
        /// The fast JSON readers.
        package var fastJSON = true
        /// Chat between the edge and inference over `Exchange` streams.
        package var exchangeStreams = true

        /// Creates the defaults: everything on.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case eventLoopChannel = "event_loop_channel"
            case eventLoopExecutors = "event_loop_executors"
            case plainHTTPClient = "plain_http_client"
            case fastJSON = "fast_json"
            case exchangeStreams = "exchange_streams"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            eventLoopChannel = try container.decodeIfPresent(Bool.self, forKey: .eventLoopChannel) ?? true
            eventLoopExecutors = try container.decodeIfPresent(Bool.self, forKey: .eventLoopExecutors) ?? true
            plainHTTPClient = try container.decodeIfPresent(Bool.self, forKey: .plainHTTPClient) ?? true
            fastJSON = try container.decodeIfPresent(Bool.self, forKey: .fastJSON) ?? true
            exchangeStreams = try container.decodeIfPresent(Bool.self, forKey: .exchangeStreams) ?? true
        }

        /// The machinery these switches select.
        package var fastPath: FastPath {
            FastPath(
                eventLoopChannel: eventLoopChannel,
                eventLoopExecutors: eventLoopExecutors,
                plainHTTPClient: plainHTTPClient,
                fastJSON: fastJSON,
                exchangeStreams: exchangeStreams
            )
        }
    }

    /// How the edge hands usage records to the ledger.
    package struct Usage: Sendable, Hashable, Codable {
        /// How many records may wait for the ledger before new requests wait.
        package var admissionLimit = UsageRecorder.defaultAdmissionLimit

        /// Creates the defaults.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case admissionLimit = "admission_limit"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            admissionLimit = try container.decodeIfPresent(Int.self, forKey: .admissionLimit) ?? admissionLimit
        }
    }

    /// Addresses of the services.
    package struct Services: Sendable, Hashable, Codable {
        /// The inference service.
        package var inference = Endpoint(address: "127.0.0.1:50061")
        /// The governance service.
        package var governance = Endpoint(address: "127.0.0.1:50062")
        /// The vector service.
        package var vector = Endpoint(address: "127.0.0.1:50063")

        /// Creates the default addresses.
        package init() {}

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            inference = try container.decodeIfPresent(Endpoint.self, forKey: .inference) ?? inference
            governance = try container.decodeIfPresent(Endpoint.self, forKey: .governance) ?? governance
            vector = try container.decodeIfPresent(Endpoint.self, forKey: .vector) ?? vector
        }

        enum CodingKeys: String, CodingKey { case inference, governance, vector }
    }

    /// One service's address.
    package struct Endpoint: Sendable, Hashable, Codable {
        /// `host:port` (an IPv6 host in brackets) or `unix:PATH`.
        package var address: String

        /// Creates an endpoint.
        ///
        /// - Parameter address: `host:port` or `unix:PATH`.
        package init(address: String) { self.address = address }

        /// What is wrong with the address, naming its configuration `key`, or `nil` when it parses.
        ///
        /// - Parameter key: The configuration key, such as `services.inference.address`.
        /// - Returns: A sentence for the operator, or `nil`.
        package func problem(key: String) -> String? {
            guard location == nil else { return nil }
            return
                "\(key) '\(address)' is not host:port or unix:PATH (a socket path of 1 to \(Self.maxUnixPathBytes) bytes)"
        }

        /// Where an endpoint is: a TCP host and port, or a Unix domain socket.
        package enum Location: Sendable, Hashable {
            /// A host name or IP literal (IPv6 without brackets) and a port.
            case tcp(host: String, port: Int)
            /// The path of a Unix domain socket.
            case unix(path: String)
        }

        /// The longest Unix domain socket path Linux accepts, in bytes (`sun_path` holds 108 with the final NUL).
        package static let maxUnixPathBytes = 107

        /// The address parsed, or `nil` when malformed.
        ///
        /// `unix:PATH` and `unix://PATH` name a Unix domain socket, as gRPC's naming scheme does (`unix:///run/x.sock`
        /// is the absolute path `/run/x.sock`); the path must not be empty, hold a NUL byte or exceed
        /// ``maxUnixPathBytes``. Anything else must be `host:port` with a port of at most five digits.
        package var location: Location? {
            if address.hasPrefix("unix:") {
                var path = address.dropFirst("unix:".count)
                if path.hasPrefix("//") { path = path.dropFirst(2) }
                guard !path.isEmpty, path.utf8.count <= Self.maxUnixPathBytes, !path.utf8.contains(0) else {
                    return nil
                }
                return .unix(path: String(path))
            }
            guard let colon = address.lastIndex(of: ":") else { return nil }
            let digits = address[address.index(after: colon)...]
            guard (1...5).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let port = Int(digits), port <= 65535
            else { return nil }
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            return .tcp(host: host, port: port)
        }
    }

    /// gRPC settings.
    package struct GRPC: Sendable, Hashable, Codable {
        /// Deadline of each unary call, in milliseconds.
        package var defaultTimeoutMs: Int64 = 10_000
        /// Deadline of a whole stream, in milliseconds.
        package var streamTimeoutMs: Int64 = 600_000
        /// The environment variable holding the shared internal token, if any.
        package var internalTokenEnv: String?
        /// TLS settings; `nil` for plaintext (loopback only).
        package var tls: TLS?
        /// How long, in microseconds, a gRPC connection may hold written frames back to send them with later ones
        /// (grpc-swift-nio-transport's flush coalescing), on servers and clients alike; 0, the default, sends each
        /// flush at once.
        ///
        /// Coalescing saves system calls when a connection carries many concurrent calls, but a call made alone
        /// waits out the delay on each side: with the transport's default of 100 µs a unary call between two Sluice
        /// processes took about 650 µs on loopback against about 390 µs without (see Docs/BENCHMARKS.md).
        package var flushDelayUs: Int = 0
        /// The largest `flushDelayUs` accepted: 10 ms.
        package static let maxFlushDelayUs = 10_000

        /// Creates the default settings.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case tls
            case flushDelayUs = "flush_delay_us"
            case defaultTimeoutMs = "default_timeout_ms"
            case streamTimeoutMs = "stream_timeout_ms"
            case internalTokenEnv = "internal_token_env"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            defaultTimeoutMs = try container.decodeIfPresent(Int64.self, forKey: .defaultTimeoutMs) ?? defaultTimeoutMs
            streamTimeoutMs = try container.decodeIfPresent(Int64.self, forKey: .streamTimeoutMs) ?? streamTimeoutMs
            internalTokenEnv = try container.decodeIfPresent(String.self, forKey: .internalTokenEnv)
            tls = try container.decodeIfPresent(TLS.self, forKey: .tls)
            flushDelayUs = try container.decodeIfPresent(Int.self, forKey: .flushDelayUs) ?? flushDelayUs
        }
    }

    /// TLS files for gRPC between services.
    package struct TLS: Sendable, Hashable, Codable {
        /// PEM certificate chain a server presents.
        package var certPath: String?
        /// PEM private key of that certificate.
        package var keyPath: String?
        /// PEM roots a client trusts; the system roots when absent.
        package var caPath: String?

        enum CodingKeys: String, CodingKey {
            case certPath = "cert_path"
            case keyPath = "key_path"
            case caPath = "ca_path"
        }
    }
}
