package import SluiceEdge
package import SluiceInference

/// The chat codec on ``JSONReader`` and ``JSONWriter``: the request path's JSON without `Codable`
/// (`performance.fast_json`).
///
/// Requests are read by a strict reader that declines anything but the common shapes; a declined body goes to
/// ``CodableOpenAIChatCodec``, so what is accepted and rejected, and with which error, is `Codable`'s. Answers are
/// written member by member, the same values `JSONEncoder` writes.
package struct FastOpenAIChatCodec: OpenAIChatCodec {
    private let fallback = CodableOpenAIChatCodec()

    /// Creates the codec.
    package init() {}

    /// Reads the fast way first; see ``OpenAIChatCodec/decodeRequest(_:)``.
    package func decodeRequest(_ body: [UInt8]) throws -> OpenAIChatRequest {
        if let request = OpenAIChatRequest.fastDecode(body) { return request }
        return try fallback.decodeRequest(body)
    }

    /// Writes a completion directly (this runs on every non-streamed request).
    package func encodeCompletion(_ response: ChatResponse, model: String) -> [UInt8] {
        let message = response.message
        let content = OpenAIChatEncoding.content(of: message)
        var json = JSONWriter(capacity: 256 + (content?.utf8.count ?? 0))
        json.beginObject()
        json.member("id", response.id)
        json.member("object", "chat.completion")
        json.member("created", response.created)
        json.member("model", model)
        json.key("choices")
        json.beginArray()
        json.beginObject()
        json.member("index", 0)
        json.key("message")
        json.beginObject()
        json.member("role", "assistant")
        json.key("content")
        json.string(content)
        if let calls = OpenAIChatEncoding.toolCalls(of: message) {
            json.key("tool_calls")
            json.beginArray()
            for call in calls { write(call, to: &json) }
            json.endArray()
        }
        json.endObject()
        json.member("finish_reason", response.finishReason.rawValue)
        json.key("logprobs")
        json.null()
        json.endObject()
        json.endArray()
        json.key("usage")
        write(OpenAIChatEncoding.WireUsage(response.usage), to: &json)
        json.endObject()
        return json.bytes
    }

    /// Writes a chunk directly (this runs for every streamed token).
    package func encodeChunk(_ chunk: OpenAIChatEncoding.Chunk) -> [UInt8] {
        var json = JSONWriter(capacity: 192 + (chunk.delta?.content?.utf8.count ?? 0))
        json.beginObject()
        json.member("id", chunk.id)
        json.member("object", "chat.completion.chunk")
        json.member("created", chunk.created)
        json.member("model", chunk.model)
        json.key("choices")
        json.beginArray()
        if let delta = chunk.delta {
            json.beginObject()
            json.member("index", 0)
            json.key("delta")
            json.beginObject()
            json.member("role", delta.role)
            json.member("content", delta.content)
            if let calls = delta.toolCalls {
                json.key("tool_calls")
                json.beginArray()
                for call in calls { write(call, to: &json) }
                json.endArray()
            }
            json.endObject()
            json.key("finish_reason")
            json.string(chunk.finishReason)
            json.key("logprobs")
            json.null()
            json.endObject()
        }
        json.endArray()
        if chunk.includeUsageField {
            json.key("usage")
            if let usage = chunk.usage { write(usage, to: &json) } else { json.null() }
        }
        json.endObject()
        return json.bytes
    }

    private func write(_ usage: OpenAIChatEncoding.WireUsage, to json: inout JSONWriter) {
        json.beginObject()
        json.member("prompt_tokens", usage.promptTokens)
        json.member("completion_tokens", usage.completionTokens)
        json.member("total_tokens", usage.totalTokens)
        json.member("estimated", usage.estimated)
        json.endObject()
    }

    private func write(_ call: OpenAIChatEncoding.WireToolCall, to json: inout JSONWriter) {
        json.beginObject()
        json.member("index", call.index)
        json.member("id", call.id)
        json.member("type", call.type)
        json.key("function")
        json.beginObject()
        json.member("name", call.function.name)
        json.member("arguments", call.function.arguments)
        json.endObject()
        json.endObject()
    }
}
