import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix
import SluiceFastPath
import SluiceServer

extension BenchCommand {
    /// What one gRPC call costs against one message on an open stream, between two processes.
    ///
    /// `serve` answers an echo service with two methods, a unary call and a bidirectional stream that echoes each
    /// message; `call` makes unary calls one after another, or sends messages one after another on one stream and waits
    /// for each echo, and prints the round trip's percentiles and its own CPU per call. Both run their transport and
    /// their handlers on one event loop, as Sluice's split-mode services do. `scripts/bench-grpc.sh` runs the pair with
    /// and without flush coalescing and adds the server's CPU per call.
    struct GRPC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grpc",
            abstract: "Measure a gRPC call against a message on an open stream (see scripts/bench-grpc.sh).",
            subcommands: [Serve.self, Call.self]
        )

        /// Options both sides share.
        struct Common: ParsableArguments {
            @Option(help: "The server's port on 127.0.0.1.") var port = 18050
            @Option(help: "Flush coalescing delay in microseconds; 0 turns it off.") var flushDelayUs = 0
        }

        /// Serves the echo service until interrupted.
        struct Serve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Serve the echo service.")

            @OptionGroup var common: Common
            @Flag(help: "Serve the stream method on swift-nio-http2 alone, without grpc-swift (no unary method).")
            var lean = false

            func run() async throws {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                if lean { return try await serveLeanEcho(on: group.next(), port: common.port) }
                let server = GRPCServer(
                    transport: .http2NIOPosix(
                        address: .ipv4(host: "127.0.0.1", port: common.port),
                        transportSecurity: .plaintext,
                        config: SluiceRuntime.serverTransportConfig(flushDelayUs: common.flushDelayUs),
                        eventLoopGroup: group
                    ),
                    services: [EchoService()]
                )
                try await withTaskExecutorPreference(EventLoopTaskExecutor.shared(for: group.next())) {
                    try await server.serve()
                }
            }
        }

        /// Makes the calls and prints what they cost.
        struct Call: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Call the echo service and print the costs.")

            @OptionGroup var common: Common
            @Option(
                help: """
                    unary: one call per message; stream: every message on one open stream; lean-stream: the same on \
                    swift-nio-http2 alone, without grpc-swift.
                    """
            )
            var mode = "unary"
            @Option(help: "How many calls or messages to measure, after 500 for warm-up.") var count = 10_000
            @Option(help: "The size of each message in bytes.") var bytes = 300

            func validate() throws {
                guard ["unary", "stream", "lean-stream"].contains(mode) else {
                    throw ValidationError("--mode is unary, stream or lean-stream")
                }
                guard count > 0, bytes >= 0 else {
                    throw ValidationError("--count must be positive, --bytes not negative")
                }
            }

            func run() async throws {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                let loop = group.next()
                let delay = common.flushDelayUs
                let payload = [UInt8](repeating: 7, count: bytes)
                let (mode, count, port) = (self.mode, self.count, common.port)
                let result = try await withTaskExecutorPreference(EventLoopTaskExecutor.shared(for: loop)) {
                    if mode == "lean-stream" {
                        return try await Self.leanStream(loop: loop, port: port, payload: payload, count: count)
                    }
                    let client = GRPCClient(
                        transport: try .http2NIOPosix(
                            target: .ipv4(address: "127.0.0.1", port: port),
                            transportSecurity: .plaintext,
                            config: SluiceRuntime.clientTransportConfig(flushDelayUs: delay),
                            eventLoopGroup: group
                        )
                    )
                    return try await withThrowingTaskGroup(of: Measurement?.self) { tasks in
                        tasks.addTask {
                            try await client.runConnections()
                            return nil
                        }
                        defer { client.beginGracefulShutdown() }
                        return mode == "unary"
                            ? try await Self.unary(client, payload: payload, count: count)
                            : try await Self.stream(client, payload: payload, count: count)
                    }
                }
                print(
                    "mode=\(mode) flush_delay_us=\(delay) calls=\(count) p50_us=\(result.percentile(0.5))",
                    "p99_us=\(result.percentile(0.99)) client_cpu_us_per_call=\(result.cpuMicrosecondsPerCall)"
                )
            }

            private static func unary(
                _ client: GRPCClient<HTTP2ClientTransport.Posix>,
                payload: [UInt8],
                count: Int
            ) async throws -> Measurement {
                var measurement = Measurement(capacity: count)
                for index in 0..<(500 + count) {
                    if index == 500 { measurement.start() }
                    let started = ContinuousClock.now
                    _ = try await client.unary(
                        request: ClientRequest(message: payload),
                        descriptor: EchoService.unary,
                        serializer: RawBytes(),
                        deserializer: RawBytes(),
                        options: .defaults
                    ) { try $0.message }
                    if index >= 500 { measurement.record(ContinuousClock.now - started) }
                }
                measurement.stop()
                return measurement
            }

            private static func leanStream(
                loop: any EventLoop,
                port: Int,
                payload: [UInt8],
                count: Int
            ) async throws -> Measurement {
                let stream = try await openLeanEchoStream(
                    on: loop,
                    port: port,
                    path: "/\(EchoService.stream.fullyQualifiedMethod)"
                )
                let message = ByteBuffer(bytes: payload)
                var measurement = Measurement(capacity: count)
                for index in 0..<(500 + count) {
                    if index == 500 { measurement.start() }
                    let started = ContinuousClock.now
                    // This task runs on `loop` (its executor preference), so the stream is reached without a hop.
                    _ = try await withCheckedThrowingContinuation { stream.value.send(message, $0) }
                    if index >= 500 { measurement.record(ContinuousClock.now - started) }
                }
                measurement.stop()
                return measurement
            }

            private static func stream(
                _ client: GRPCClient<HTTP2ClientTransport.Posix>,
                payload: [UInt8],
                count: Int
            ) async throws -> Measurement {
                let (outbound, continuation) = AsyncStream.makeStream(of: [UInt8].self)
                return try await client.bidirectionalStreaming(
                    request: StreamingClientRequest(of: [UInt8].self) { writer in
                        for await message in outbound { try await writer.write(message) }
                    },
                    descriptor: EchoService.stream,
                    serializer: RawBytes(),
                    deserializer: RawBytes(),
                    options: .defaults
                ) { response in
                    var echoes = response.messages.makeAsyncIterator()
                    var measurement = Measurement(capacity: count)
                    for index in 0..<(500 + count) {
                        if index == 500 { measurement.start() }
                        let started = ContinuousClock.now
                        continuation.yield(payload)
                        guard try await echoes.next() != nil else { throw EchoService.EndedEarly() }
                        if index >= 500 { measurement.record(ContinuousClock.now - started) }
                    }
                    measurement.stop()
                    continuation.finish()
                    while try await echoes.next() != nil {}
                    return measurement
                }
            }
        }
    }
}

/// Round trips and the process's CPU time over a run.
private struct Measurement: Sendable {
    private var samples: [Duration] = []
    private var cpuAtStart = 0.0
    private var cpuAtStop = 0.0

    init(capacity: Int) { samples.reserveCapacity(capacity) }

    mutating func start() { cpuAtStart = Self.processCPUMicroseconds() }
    mutating func stop() { cpuAtStop = Self.processCPUMicroseconds() }
    mutating func record(_ roundTrip: Duration) { samples.append(roundTrip) }

    /// The round trip at this quantile, in whole microseconds.
    func percentile(_ quantile: Double) -> Int64 {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, Int(Double(sorted.count) * quantile))
        let (seconds, attoseconds) = sorted[index].components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// This process's CPU time per measured call, in whole microseconds.
    var cpuMicrosecondsPerCall: Int { samples.isEmpty ? 0 : Int((cpuAtStop - cpuAtStart) / Double(samples.count)) }

    private static func processCPUMicroseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
        let system = Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
        return user + system
    }
}

/// Echoes what it receives: one unary method, and one bidirectional stream that echoes each message.
private struct EchoService: RegistrableRPCService {
    static let unary = MethodDescriptor(fullyQualifiedService: "sluice.bench.Echo", method: "Unary")
    static let stream = MethodDescriptor(fullyQualifiedService: "sluice.bench.Echo", method: "Stream")

    /// The stream ended before every message was echoed.
    struct EndedEarly: Error {}

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.unary, deserializer: RawBytes(), serializer: RawBytes()) {
            request,
            _ in
            var last: [UInt8] = []
            for try await message in request.messages { last = message }
            return StreamingServerResponse(single: ServerResponse(message: last))
        }
        router.registerHandler(forMethod: Self.stream, deserializer: RawBytes(), serializer: RawBytes()) {
            request,
            _ in
            StreamingServerResponse { writer in
                for try await message in request.messages { try await writer.write(message) }
                return [:]
            }
        }
    }
}

/// Passes message bytes through unchanged.
private struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
