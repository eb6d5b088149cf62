import AsyncHTTPClient
import Foundation
import NIOCore
package import SluiceInference

/// The provider for Anthropic's Messages API (`POST {base}/v1/messages`).
///
/// System and developer messages become the top-level `system` prompt, tool calls and their results become
/// `tool_use` and `tool_result` content blocks, and the upstream's typed stream events are translated into
/// Sluice's deltas. Options the Messages API lacks (seed, penalties, response format) are dropped.
///
/// ```swift
/// let http = UpstreamHTTP(providerName: "anthropic", timeouts: .init(), logger: logger)
/// let provider = AnthropicProvider(
///     name: "anthropic",
///     baseURL: "https://api.anthropic.com",
///     apiKey: environment["ANTHROPIC_API_KEY"],
///     http: http
/// )
/// let reply = try await provider.chat(request, upstreamModel: "claude-sonnet-4-5")
/// ```
package struct AnthropicProvider: ChatProvider {
    /// The `anthropic-version` sent when the configuration names none.
    package static let defaultAPIVersion = "2023-06-01"

    /// The configured provider name.
    package let name: String
    private let http: UpstreamHTTP
    private let baseURL: String
    private let apiKey: String?
    private let apiVersion: String

    // MARK: - Initialisers

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - name: The provider name.
    ///   - baseURL: The upstream base URL without `/v1`, for example `https://api.anthropic.com`.
    ///   - apiKey: The upstream key, sent as `x-api-key`; `nil` sends none.
    ///   - apiVersion: The `anthropic-version` header.
    ///   - http: The provider's HTTP client.
    package init(
        name: String,
        baseURL: String,
        apiKey: String?,
        apiVersion: String = AnthropicProvider.defaultAPIVersion,
        http: UpstreamHTTP
    ) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.http = http
    }

    // MARK: - ChatProvider

    /// Answers in one piece through a non-streamed Messages call.
    ///
    /// - Parameters:
    ///   - request: The request, with `model` still the public name.
    ///   - upstreamModel: The Anthropic model name.
    /// - Returns: The answer, with the upstream's usage when it reported one.
    package func chat(_ request: ChatRequest, upstreamModel: String) async throws -> ProviderReply {
        let response = try await send(request, upstreamModel: upstreamModel, stream: false)
        let body = try await http.collect(response)
        return try AnthropicWire.decodeResponse(Data(body.readableBytesView), provider: name)
    }

    /// Starts a streamed Messages call.
    ///
    /// - Parameters:
    ///   - request: The request, with `model` still the public name.
    ///   - upstreamModel: The Anthropic model name.
    /// - Returns: The translated events; they end after `finish` and `usage` on `message_stop`, or without
    ///   `finish` when the upstream broke off.
    package func openStream(
        _ request: ChatRequest,
        upstreamModel: String
    ) async throws
        -> ChatEvents
    {
        let response = try await send(request, upstreamModel: upstreamModel, stream: true)
        let events = http.events(of: response)
        return ChatEvents(
            pulling: AnthropicWire.EventIterator(
                events: events.makeAsyncIterator(),
                translator: AnthropicWire.StreamTranslator(provider: name)
            )
        )
    }

    // MARK: - Request

    private func send(_ request: ChatRequest, upstreamModel: String, stream: Bool) async throws -> UpstreamHTTP.Response
    {
        var headers: [(String, String)] = [("anthropic-version", apiVersion)]
        if let apiKey { headers.append(("x-api-key", apiKey)) }
        if !request.requestID.isEmpty { headers.append(("x-request-id", request.requestID)) }
        let body: [UInt8]
        do {
            body = try AnthropicWire.encodeRequest(request, upstreamModel: upstreamModel, stream: stream)
        } catch var error as InferenceError {
            error.provider = error.provider ?? name
            throw error
        }
        return try await http.post(url: baseURL + "/v1/messages", headers: headers, body: body)
    }
}
