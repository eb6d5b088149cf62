package import Hummingbird
package import HummingbirdCore
package import SluiceInference

/// What the wiring may plug into the edge in place of the anchor libraries' defaults.
///
/// The edge itself runs on Hummingbird's `HTTP1Channel` and on `Codable`. The wiring (`SluiceServer`) can hand it
/// faster pieces from `SluiceFastPath`, each switchable off in the `performance` section of the configuration;
/// decision record 0005 holds what each is worth. ``none`` is the edge on its anchors alone.
package struct EdgeOptimizations: Sendable {
    /// Builds the server that carries connections; `nil` serves them with Hummingbird's `HTTP1Channel`.
    package var server: (any EdgeServerProvider)?
    /// Reads chat requests and writes completions and chunks.
    package var chatCodec: any OpenAIChatCodec

    /// Creates the set.
    ///
    /// - Parameters:
    ///   - server: The server provider, or `nil` for Hummingbird's HTTP/1.
    ///   - chatCodec: The chat JSON codec.
    package init(server: (any EdgeServerProvider)? = nil, chatCodec: any OpenAIChatCodec = CodableOpenAIChatCodec()) {
        self.server = server
        self.chatCodec = chatCodec
    }

    /// The edge on its anchor libraries alone.
    package static var none: EdgeOptimizations { EdgeOptimizations() }
}

/// Builds the HTTP server that carries the edge's connections.
package protocol EdgeServerProvider: Sendable {
    /// The server for the edge's router.
    ///
    /// - Parameters:
    ///   - responder: The router's responder, which every request goes to.
    ///   - maxBodyBytes: The most request-body bytes a route may read.
    /// - Returns: The server builder the application runs.
    func server(responder: RouterResponder<EdgeRequestContext>, maxBodyBytes: Int) -> HTTPServerBuilder
}

/// Reads `/v1/chat/completions` requests and writes its answers.
///
/// Whatever a codec does, it accepts and rejects exactly what ``CodableOpenAIChatCodec`` does, with the same errors,
/// and writes the same JSON values (member order aside).
package protocol OpenAIChatCodec: Sendable {
    /// Decodes a request body.
    ///
    /// - Parameter body: The raw body.
    /// - Returns: The request.
    /// - Throws: ``OpenAIError`` 400 with `invalid_json` or `invalid_parameter`.
    func decodeRequest(_ body: [UInt8]) throws -> OpenAIChatRequest

    /// A `chat.completion` object.
    ///
    /// - Parameters:
    ///   - response: The answer.
    ///   - model: The model name the client asked for.
    /// - Returns: The JSON bytes.
    func encodeCompletion(_ response: ChatResponse, model: String) -> [UInt8]

    /// One `chat.completion.chunk`, as it goes after `data: `.
    ///
    /// - Parameter chunk: The chunk.
    /// - Returns: The JSON bytes.
    func encodeChunk(_ chunk: OpenAIChatEncoding.Chunk) -> [UInt8]
}
