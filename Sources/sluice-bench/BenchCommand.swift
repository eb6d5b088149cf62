import ArgumentParser
import Hummingbird
import Logging
import NIOCore
import SluiceEdge

/// `sluice-bench`: tools for measuring Sluice itself, kept out of the `sluice` product.
///
/// Built only when `SLUICE_BENCHMARKS=1` is set (`scripts/bench*.sh` set it):
///
/// ```bash
/// SLUICE_BENCHMARKS=1 swift build -c release --scratch-path .build-release --product sluice-bench
/// .build-release/release/sluice-bench upstream --port 9900
/// ```
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Benchmark tools (see scripts/bench.sh and Docs/BENCHMARKS.md).",
        subcommands: [Upstream.self, Proxy.self, GRPC.self, Vector.self, VectorFilter.self]
    )

    /// A fixed-answer OpenAI-compatible upstream, the baseline Sluice's added latency is measured against.
    ///
    /// It answers every `POST /v1/chat/completions` with the same precomputed bytes: a completion, or when the
    /// body asks for `"stream":true`, five content chunks, a finish chunk, a usage chunk and `[DONE]`. It does not
    /// parse JSON, so its own cost stays small and constant. Like Sluice's edge it handles each connection on the
    /// connection's event loop (`EventLoopPinnedChannel`), which costs it about a third less CPU per request than Hummingbird's
    /// default and leaves more of the machine to what is measured.
    struct Upstream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve a fixed-answer OpenAI-compatible upstream.")

        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 9900

        func run() async throws {
            let completion = ByteBuffer(string: Self.completion)
            let stream = ByteBuffer(string: Self.stream)
            let streamMarker = Array(#""stream":true"#.utf8)
            let router = Router()
            router.post("/v1/chat/completions") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                let wantsStream = body.readableBytesView.firstRange(of: streamMarker) != nil
                return Response(
                    status: .ok,
                    headers: [.contentType: wantsStream ? "text/event-stream" : "application/json"],
                    body: .init(byteBuffer: wantsStream ? stream : completion)
                )
            }
            var logger = Logger(label: "sluice.bench.upstream")
            logger.logLevel = .warning
            let app = Application(
                router: router,
                server: .pinnedHTTP1,
                configuration: .init(address: .hostname(host, port: port), serverName: "bench-upstream"),
                logger: logger
            )
            try await app.runService()
        }

        static let completion = #"""
            {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps."},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}
            """#

        static let stream: String = {
            let pieces = ["The", " quick", " brown", " fox", " jumps."]
            var body = ""
            func chunk(_ delta: String, finish: String = "null") -> String {
                #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish),"logprobs":null}]}"#
                    + "\n\n"
            }
            body += chunk(#"{"role":"assistant","content":""}"#)
            for piece in pieces { body += chunk(#"{"content":"\#(piece)"}"#) }
            body += chunk("{}", finish: #""stop""#)
            body +=
                #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#
                + "\n\n"
            body += "data: [DONE]\n\n"
            return body
        }()
    }
}
