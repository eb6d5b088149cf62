import Foundation
package import SluiceInference

/// Writes the OpenAI-compatible request bodies and reads the answers and stream chunks.
///
/// Every provider follows one JSON rule: its wire types are `Codable` (``OpenAIWire``, ``AnthropicWire``). The
/// OpenAI-compatible wire, which carries most traffic, can be handed a faster codec by the wiring
/// (`performance.fast_json`); whatever it does, it accepts and rejects exactly what ``CodableOpenAIWireCodec`` does
/// and writes the same JSON values.
package protocol OpenAIWireCodec: Sendable {
    /// The request body for `upstreamModel`.
    ///
    /// - Parameters:
    ///   - request: The domain request.
    ///   - upstreamModel: The model name the upstream knows.
    ///   - stream: Whether to ask for a stream with usage.
    /// - Returns: The JSON bytes.
    func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8]

    /// Reads a non-streamed completion.
    ///
    /// - Parameter bytes: The response body.
    /// - Returns: The completion.
    /// - Throws: When the body is not a completion.
    func readCompletion(_ bytes: [UInt8]) throws -> OpenAIWire.Completion

    /// Reads one streamed chunk.
    ///
    /// - Parameter bytes: The event's data.
    /// - Returns: The chunk.
    /// - Throws: When the data is not a chunk.
    func readChunk(_ bytes: [UInt8]) throws -> OpenAIWire.Chunk
}

/// The OpenAI-compatible wire on `Codable` alone.
package struct CodableOpenAIWireCodec: OpenAIWireCodec {
    /// Creates the codec.
    package init() {}

    /// Writes with `JSONEncoder`; see ``OpenAIWireCodec/encodeRequest(_:upstreamModel:stream:)``.
    package func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        try OpenAIWire.encodeRequest(request, upstreamModel: upstreamModel, stream: stream)
    }

    /// Reads with `JSONDecoder`; see ``OpenAIWireCodec/readCompletion(_:)``.
    package func readCompletion(_ bytes: [UInt8]) throws -> OpenAIWire.Completion {
        try UpstreamHTTP.jsonDecoder.decode(OpenAIWire.Completion.self, from: Data(bytes))
    }

    /// Reads with `JSONDecoder`; see ``OpenAIWireCodec/readChunk(_:)``.
    package func readChunk(_ bytes: [UInt8]) throws -> OpenAIWire.Chunk {
        try UpstreamHTTP.jsonDecoder.decode(OpenAIWire.Chunk.self, from: Data(bytes))
    }
}
