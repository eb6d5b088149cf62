package import SluiceInference
package import SluiceProviders

/// The OpenAI-compatible wire on ``JSONWriter`` and ``JSONReader`` (`performance.fast_json`).
///
/// Requests are written member by member, the same JSON values `Codable` writes. Answers and chunks are read by a
/// strict reader that declines anything unexpected; a declined document goes to ``CodableOpenAIWireCodec``, so what
/// is accepted and rejected is `Codable`'s.
package struct FastOpenAIWireCodec: OpenAIWireCodec {
    private let fallback = CodableOpenAIWireCodec()

    /// Creates the codec.
    package init() {}

    /// Reads the fast way first; see ``OpenAIWireCodec/readCompletion(_:)``.
    package func readCompletion(_ bytes: [UInt8]) throws -> OpenAIWire.Completion {
        if let completion = try? Self.fastCompletion(bytes) { return completion }
        return try fallback.readCompletion(bytes)
    }

    /// Reads the fast way first; see ``OpenAIWireCodec/readChunk(_:)``.
    package func readChunk(_ bytes: [UInt8]) throws -> OpenAIWire.Chunk {
        if let chunk = try? Self.fastChunk(bytes) { return chunk }
        return try fallback.readChunk(bytes)
    }

    /// Writes a request member by member; see ``OpenAIWireCodec/encodeRequest(_:upstreamModel:stream:)``.
    package func encodeRequest(_ request: ChatRequest, upstreamModel: String, stream: Bool) throws -> [UInt8] {
        // Room for the texts up front; counting their bytes joins nothing.
        let textBytes = request.messages.reduce(0) { total, message in
            message.content.reduce(total) { total, part in
                if case .text(let text) = part { total + text.utf8.count } else { total }
            }
        }
        var json = JSONWriter(capacity: 256 + textBytes)
        json.beginObject()
        json.member("model", upstreamModel)
        json.key("messages")
        json.beginArray()
        for message in request.messages { write(message, to: &json) }
        json.endArray()
        if !request.tools.isEmpty {
            json.key("tools")
            json.beginArray()
            for tool in request.tools { write(tool, to: &json) }
            json.endArray()
        }
        if let choice = request.toolChoice {
            json.key("tool_choice")
            switch choice {
            case .none: json.string("none")
            case .auto: json.string("auto")
            case .required: json.string("required")
            case .function(let name):
                json.beginObject()
                json.member("type", "function")
                json.key("function")
                json.beginObject()
                json.member("name", name)
                json.endObject()
                json.endObject()
            }
        }
        json.member("parallel_tool_calls", request.parallelToolCalls)
        json.member("temperature", request.temperature)
        json.member("top_p", request.topP)
        json.member("max_tokens", request.maxTokens)
        if !request.stop.isEmpty {
            json.key("stop")
            json.beginArray()
            for value in request.stop { json.string(value) }
            json.endArray()
        }
        json.member("seed", request.seed)
        json.member("presence_penalty", request.presencePenalty)
        json.member("frequency_penalty", request.frequencyPenalty)
        json.member("user", request.user)
        switch request.responseFormat {
        case .none: break
        case .text, .jsonObject:
            json.key("response_format")
            json.beginObject()
            json.member("type", request.responseFormat == .text ? "text" : "json_object")
            json.endObject()
        case .jsonSchema(let name, let schemaJSON, let strict):
            json.key("response_format")
            json.beginObject()
            json.member("type", "json_schema")
            json.key("json_schema")
            json.beginObject()
            json.member("name", name)
            json.key("schema")
            writeEmbedded(schemaJSON, to: &json)
            json.member("strict", strict)
            json.endObject()
            json.endObject()
        }
        if stream {
            json.member("stream", true)
            json.key("stream_options")
            json.beginObject()
            json.member("include_usage", true)
            json.endObject()
        }
        json.endObject()
        return json.bytes
    }

    private func write(_ message: ChatMessage, to json: inout JSONWriter) {
        json.beginObject()
        json.member("role", message.role.rawValue)
        json.key("content")
        let onlyText = message.content.allSatisfy { if case .text = $0 { true } else { false } }
        if message.content.isEmpty {
            if message.toolCalls.isEmpty { json.string("") } else { json.null() }
        } else if onlyText {
            json.string(message.text)
        } else {
            json.beginArray()
            for part in message.content {
                json.beginObject()
                switch part {
                case .text(let text):
                    json.member("type", "text")
                    json.member("text", text)
                case .imageURL(let url, let detail):
                    json.member("type", "image_url")
                    json.key("image_url")
                    json.beginObject()
                    json.member("url", url)
                    json.member("detail", detail)
                    json.endObject()
                }
                json.endObject()
            }
            json.endArray()
        }
        json.member("name", message.name)
        if !message.toolCalls.isEmpty {
            json.key("tool_calls")
            json.beginArray()
            for call in message.toolCalls {
                json.beginObject()
                json.member("id", call.id)
                json.member("type", "function")
                json.key("function")
                json.beginObject()
                json.member("name", call.name)
                json.member("arguments", call.arguments)
                json.endObject()
                json.endObject()
            }
            json.endArray()
        }
        json.member("tool_call_id", message.toolCallID)
        json.endObject()
    }

    private func write(_ tool: ToolDefinition, to json: inout JSONWriter) {
        json.beginObject()
        json.member("type", "function")
        json.key("function")
        json.beginObject()
        json.member("name", tool.name)
        json.member("description", tool.description)
        if let parameters = tool.parametersJSON {
            json.key("parameters")
            writeEmbedded(parameters, to: &json)
        }
        json.member("strict", tool.strict)
        json.endObject()
        json.endObject()
    }

    /// Writes a schema held as JSON text; text that is not one JSON value (possible from a gRPC caller) becomes `{}`.
    private func writeEmbedded(_ text: String, to json: inout JSONWriter) {
        var reader = JSONReader(Array(text.utf8))
        if (try? reader.skipValue()) != nil, (try? reader.finish()) != nil {
            json.raw(text)
        } else {
            json.raw("{}")
        }
    }
}
