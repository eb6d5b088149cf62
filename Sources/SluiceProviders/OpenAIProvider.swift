import AsyncHTTPClient
import Foundation
import NIOCore
package import SluiceInference

/// The provider for OpenAI's chat completions API and every server that speaks it (Ollama, vLLM, LM Studio…),
/// and for Azure OpenAI, which differs only in URL shape and key header.
///
/// Streams ask the upstream for usage (`stream_options.include_usage`); tool calls and their results pass
/// through in both directions.
package struct OpenAIProvider: ChatProvider {
    /// The configured provider name.
    package let name: String
    private let http: UpstreamHTTP
    private let endpoint: Endpoint
    private let apiKey: String?
    private let codec: any OpenAIWireCodec

    /// How the provider addresses its upstream.
    package enum Endpoint: Sendable, Hashable {
        /// OpenAI or a compatible server: `{base}/chat/completions`, `Authorization: Bearer`.
        case openAI(baseURL: String)
        /// Azure OpenAI: `{base}/openai/deployments/{model}/chat/completions?api-version=…`, `api-key`.
        case azure(baseURL: String, apiVersion: String)
    }

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - endpoint: How the upstream is addressed.
    ///   - apiKey: The upstream key, if any (local servers often need none).
    ///   - http: The provider's HTTP client.
    ///   - codec: Writes requests and reads answers; `Codable` unless the wiring plugs in a faster one.
    package init(
        name: String,
        endpoint: Endpoint,
        apiKey: String?,
        http: UpstreamHTTP,
        codec: any OpenAIWireCodec = CodableOpenAIWireCodec()
    ) {
        self.name = name
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.http = http
        self.codec = codec
    }

    /// Answers in one piece; see ``ChatProvider/chat(_:upstreamModel:)``.
    package func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply {
        let response = try await send(request, upstreamModel: upstreamModel, stream: false)
        let body = try await http.collect(response)
        let completion: OpenAIWire.Completion
        do {
            completion = try codec.readCompletion(Array(body.readableBytesView))
        } catch {
            throw InferenceError(.upstreamUnavailable, "The upstream answered with malformed JSON", provider: name)
        }
        guard let choice = completion.choices.first else {
            throw InferenceError(.upstreamUnavailable, "The upstream answered with no choices", provider: name)
        }
        let message = ChatMessage(
            role: .assistant,
            content: choice.message.content.map { [.text($0)] } ?? [],
            toolCalls: (choice.message.toolCalls ?? []).map {
                ToolCall(id: $0.id ?? "", name: $0.function.name ?? "", arguments: $0.function.arguments ?? "")
            }
        )
        return ProviderReply(
            message: message,
            finishReason: OpenAIWire.finishReason(choice.finishReason),
            usage: completion.usage.map(\.domain),
            upstreamID: completion.id
        )
    }

    /// Starts a streamed answer; see ``ChatProvider/openStream(_:upstreamModel:)``.
    package func openStream(
        _ request: ChatRequest,
        upstreamModel: String
    ) async throws
        -> ChatEvents
    {
        let response = try await send(request, upstreamModel: upstreamModel, stream: true)
        let events = http.events(of: response)
        return ChatEvents(
            pulling: ChunkIterator(events: events.makeAsyncIterator(), provider: name, codec: codec)
        )
    }

    // MARK: - Request

    private func send(_ request: ChatRequest, upstreamModel: String, stream: Bool) async throws -> UpstreamHTTP.Response
    {
        var headers: [(String, String)] = []
        let url: String
        switch endpoint {
        case .openAI(let baseURL):
            url = Self.trimmed(baseURL) + "/chat/completions"
            if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        case .azure(let baseURL, let apiVersion):
            let deployment =
                upstreamModel.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? upstreamModel
            url = Self.trimmed(baseURL) + "/openai/deployments/\(deployment)/chat/completions?api-version=\(apiVersion)"
            if let apiKey { headers.append(("api-key", apiKey)) }
        }
        if !request.requestID.isEmpty { headers.append(("x-request-id", request.requestID)) }
        let body = try codec.encodeRequest(request, upstreamModel: upstreamModel, stream: stream)
        return try await http.post(url: url, headers: headers, body: body)
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    // MARK: - Stream

    private struct ChunkIterator: AsyncIteratorProtocol {
        var events: UpstreamHTTP.EventIterator
        let provider: String
        let codec: any OpenAIWireCodec
        var ready: [ChatStreamEvent] = []
        var finished = false

        mutating func next() async throws -> ChatStreamEvent? {
            while ready.isEmpty {
                guard !finished, let event = try await events.next() else { return nil }
                if event.data == "[DONE]" {
                    finished = true
                    return nil
                }
                let chunk: OpenAIWire.Chunk
                do {
                    chunk = try codec.readChunk(Array(event.data.utf8))
                } catch {
                    if let message = UpstreamHTTP.upstreamMessage(in: event.data) {
                        throw InferenceError(
                            .upstreamUnavailable,
                            "The upstream reported: \(message)",
                            provider: provider
                        )
                    }
                    throw InferenceError(
                        .upstreamUnavailable,
                        "The upstream sent a malformed chunk",
                        provider: provider
                    )
                }
                ready = chunk.events
            }
            return ready.removeFirst()
        }
    }
}
