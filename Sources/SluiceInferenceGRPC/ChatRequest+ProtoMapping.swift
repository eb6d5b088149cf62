package import SluiceInference
package import SluiceProtos

// Requests and messages between the domain and `sluice.inference.v1`.
//
// Domain optionals that the proto models as plain strings (`name`, `tool_call_id`, `description`, `user`, …)
// travel as the empty string when `nil`, and an empty string reads back as `nil`.

extension Sluice_Inference_V1_ChatRequest {
    /// Encodes a domain request.
    package init(_ request: ChatRequest) {
        self.init()
        model = request.model
        messages = request.messages.map(Sluice_Inference_V1_Message.init)
        tools = request.tools.map(Sluice_Inference_V1_Tool.init)
        if let choice = request.toolChoice { toolChoice = Sluice_Inference_V1_ToolChoice(choice) }
        if let value = request.parallelToolCalls { parallelToolCalls = value }
        if let value = request.temperature { temperature = value }
        if let value = request.topP { topP = value }
        if let value = request.maxTokens { maxTokens = Int32(clamping: value) }
        stop = request.stop
        if let value = request.seed { seed = value }
        if let value = request.presencePenalty { presencePenalty = value }
        if let value = request.frequencyPenalty { frequencyPenalty = value }
        if let format = request.responseFormat { responseFormat = Sluice_Inference_V1_ResponseFormat(format) }
        user = request.user ?? ""
        includeUsage = request.includeUsage
        if let value = request.route {
            var route = Sluice_Inference_V1_Route()
            route.provider = value.provider
            route.model = value.model
            self.route = route
        }
        requestID = request.requestID
        tenantID = request.tenantID
    }
}

extension ChatRequest {
    /// Decodes a request.
    ///
    /// - Throws: ``InferenceError`` with `invalidRequest` when a message has no role or an unknown content part.
    package init(proto: Sluice_Inference_V1_ChatRequest) throws {
        self.init(model: proto.model, messages: try proto.messages.map { try ChatMessage(proto: $0) })
        tools = proto.tools.map(ToolDefinition.init(proto:))
        toolChoice = proto.hasToolChoice ? ToolChoice(proto: proto.toolChoice) : nil
        parallelToolCalls = proto.hasParallelToolCalls ? proto.parallelToolCalls : nil
        temperature = proto.hasTemperature ? proto.temperature : nil
        topP = proto.hasTopP ? proto.topP : nil
        maxTokens = proto.hasMaxTokens ? Int(proto.maxTokens) : nil
        stop = proto.stop
        seed = proto.hasSeed ? proto.seed : nil
        presencePenalty = proto.hasPresencePenalty ? proto.presencePenalty : nil
        frequencyPenalty = proto.hasFrequencyPenalty ? proto.frequencyPenalty : nil
        responseFormat = proto.hasResponseFormat ? ResponseFormat(proto: proto.responseFormat) : nil
        user = proto.user.isEmpty ? nil : proto.user
        includeUsage = proto.includeUsage
        route = proto.hasRoute ? Route(provider: proto.route.provider, model: proto.route.model) : nil
        requestID = proto.requestID
        tenantID = proto.tenantID
    }
}

extension Sluice_Inference_V1_Message {
    /// Encodes a domain message.
    package init(_ message: ChatMessage) {
        self.init()
        role = Sluice_Inference_V1_Role(message.role)
        content = message.content.map(Sluice_Inference_V1_ContentPart.init)
        name = message.name ?? ""
        toolCalls = message.toolCalls.map(Sluice_Inference_V1_ToolCall.init)
        toolCallID = message.toolCallID ?? ""
    }
}

extension ChatMessage {
    /// Decodes a message; the proto's `refusal` has no domain counterpart and is dropped.
    ///
    /// - Throws: ``InferenceError`` with `invalidRequest` for a missing role or an empty content part.
    package init(proto: Sluice_Inference_V1_Message) throws {
        let role: Role
        switch proto.role {
        case .system: role = .system
        case .developer: role = .developer
        case .user: role = .user
        case .assistant: role = .assistant
        case .tool: role = .tool
        case .unspecified, .UNRECOGNIZED: throw InferenceError(.invalidRequest, "A message has no valid role")
        }
        let content = try proto.content.map { part -> ContentPart in
            switch part.part {
            case .text(let text): return .text(text)
            case .imageURL(let image): return .imageURL(url: image.url, detail: image.detail.domainValue)
            case nil: throw InferenceError(.invalidRequest, "A content part has neither text nor an image")
            }
        }
        self.init(
            role: role,
            content: content,
            name: proto.name.isEmpty ? nil : proto.name,
            toolCalls: proto.toolCalls.map(ToolCall.init(proto:)),
            toolCallID: proto.toolCallID.isEmpty ? nil : proto.toolCallID
        )
    }
}

extension Sluice_Inference_V1_Role {
    package init(_ role: ChatMessage.Role) {
        switch role {
        case .system: self = .system
        case .developer: self = .developer
        case .user: self = .user
        case .assistant: self = .assistant
        case .tool: self = .tool
        }
    }
}

extension Sluice_Inference_V1_ContentPart {
    package init(_ part: ChatMessage.ContentPart) {
        self.init()
        switch part {
        case .text(let text):
            self.part = .text(text)
        case .imageURL(let url, let detail):
            var image = Sluice_Inference_V1_ImageUrl()
            image.url = url
            image.detail = Sluice_Inference_V1_ImageDetail(domainValue: detail)
            self.part = .imageURL(image)
        }
    }
}

extension Sluice_Inference_V1_ImageDetail {
    /// Reads the domain's free-form detail hint; values other than `auto`, `low` and `high` are dropped.
    package init(domainValue: String?) {
        switch domainValue {
        case "auto": self = .auto
        case "low": self = .low
        case "high": self = .high
        default: self = .unspecified
        }
    }

    var domainValue: String? {
        switch self {
        case .auto: "auto"
        case .low: "low"
        case .high: "high"
        case .unspecified, .UNRECOGNIZED: nil
        }
    }
}

extension Sluice_Inference_V1_Tool {
    package init(_ tool: ToolDefinition) {
        self.init()
        var function = Sluice_Inference_V1_FunctionDefinition()
        function.name = tool.name
        function.description_p = tool.description ?? ""
        function.parametersJson = tool.parametersJSON ?? ""
        if let strict = tool.strict { function.strict = strict }
        self.function = function
    }
}

extension ToolDefinition {
    package init(proto: Sluice_Inference_V1_Tool) {
        let function = proto.function
        self.init(
            name: function.name,
            description: function.description_p.isEmpty ? nil : function.description_p,
            parametersJSON: function.parametersJson.isEmpty ? nil : function.parametersJson,
            strict: function.hasStrict ? function.strict : nil
        )
    }
}

extension Sluice_Inference_V1_ToolChoice {
    package init(_ choice: ToolChoice) {
        self.init()
        switch choice {
        case .none: self.choice = .mode(.none)
        case .auto: self.choice = .mode(.auto)
        case .required: self.choice = .mode(.required)
        case .function(let name):
            var function = Sluice_Inference_V1_NamedFunction()
            function.name = name
            self.choice = .function(function)
        }
    }
}

extension ToolChoice {
    /// Decodes a tool choice; an unset or unspecified choice is `nil` (provider default).
    init?(proto: Sluice_Inference_V1_ToolChoice) {
        switch proto.choice {
        case .mode(.none): self = .none
        case .mode(.auto): self = .auto
        case .mode(.required): self = .required
        case .function(let function): self = .function(function.name)
        case .mode(.unspecified), .mode(.UNRECOGNIZED), nil: return nil
        }
    }
}

extension Sluice_Inference_V1_ToolCall {
    package init(_ call: ToolCall) {
        self.init()
        id = call.id
        type = "function"
        var function = Sluice_Inference_V1_FunctionCall()
        function.name = call.name
        function.arguments = call.arguments
        self.function = function
    }
}

extension ToolCall {
    package init(proto: Sluice_Inference_V1_ToolCall) {
        self.init(id: proto.id, name: proto.function.name, arguments: proto.function.arguments)
    }
}

extension Sluice_Inference_V1_ResponseFormat {
    package init(_ format: ChatRequest.ResponseFormat) {
        self.init()
        switch format {
        case .text:
            kind = .text
        case .jsonObject:
            kind = .jsonObject
        case .jsonSchema(let name, let schemaJSON, let strict):
            kind = .jsonSchema
            var schema = Sluice_Inference_V1_JsonSchemaFormat()
            schema.name = name
            schema.schemaJson = schemaJSON
            if let strict { schema.strict = strict }
            jsonSchema = schema
        }
    }
}

extension ChatRequest.ResponseFormat {
    /// Decodes a response format; `UNSPECIFIED` means free text, as the proto says.
    package init(proto: Sluice_Inference_V1_ResponseFormat) {
        switch proto.kind {
        case .jsonObject:
            self = .jsonObject
        case .jsonSchema:
            let schema = proto.jsonSchema
            self = .jsonSchema(
                name: schema.name,
                schemaJSON: schema.schemaJson,
                strict: schema.hasStrict ? schema.strict : nil
            )
        case .text, .unspecified, .UNRECOGNIZED:
            self = .text
        }
    }
}
