import SluiceInference
import SluiceProtos

// The model catalog and token counts between the domain and `sluice.inference.v1`.

extension Sluice_Inference_V1_Model {
    /// Encodes a catalog entry; deployment priorities are the domain's order, from 0. Every adapter streams and
    /// passes tools through, so those two capabilities are always set.
    init(_ model: ModelDescriptor) {
        self.init()
        id = model.id
        ownedBy = model.ownedBy
        encoding = model.encoding
        capabilities.streaming = true
        capabilities.tools = true
        deployments = model.deployments.enumerated().map { index, value in
            var deployment = Sluice_Inference_V1_Deployment()
            deployment.provider = value.provider
            deployment.upstreamModel = value.model
            deployment.priority = Int32(clamping: index)
            deployment.circuit =
                switch value.circuit {
                case .closed: .closed
                case .open: .open
                case .halfOpen: .halfOpen
                }
            return deployment
        }
    }
}

extension ModelDescriptor {
    /// Decodes a catalog entry, keeping the deployments in priority order.
    init(proto: Sluice_Inference_V1_Model) {
        let ordered = proto.deployments.enumerated().sorted { lhs, rhs in
            (lhs.element.priority, lhs.offset) < (rhs.element.priority, rhs.offset)
        }
        self.init(
            id: proto.id,
            ownedBy: proto.ownedBy,
            deployments: ordered.map { entry in
                let circuit: Circuit =
                    switch entry.element.circuit {
                    case .open: .open
                    case .halfOpen: .halfOpen
                    default: .closed
                    }
                return Deployment(
                    provider: entry.element.provider,
                    model: entry.element.upstreamModel,
                    circuit: circuit
                )
            },
            encoding: proto.encoding
        )
    }
}

extension Sluice_Inference_V1_CountTokensRequest {
    init(_ request: TokenCountRequest) {
        self.init()
        model = request.model
        switch request.input {
        case .prompt(let messages, let tools):
            self.messages = messages.map(Sluice_Inference_V1_Message.init)
            self.tools = tools.map(Sluice_Inference_V1_Tool.init)
        case .text(let text):
            self.text = text
        }
    }
}

extension TokenCountRequest {
    /// Reads a `CountTokensRequest`: exactly one of `messages` and `text`; `tools` only with `messages`.
    ///
    /// - Throws: ``InferenceError`` with `invalidRequest` when the message breaks those rules.
    init(proto: Sluice_Inference_V1_CountTokensRequest) throws {
        guard !proto.model.isEmpty else {
            throw InferenceError(.invalidRequest, "Set the model whose tokenizer counts")
        }
        switch (proto.messages.isEmpty, proto.text.isEmpty) {
        case (false, false):
            throw InferenceError(.invalidRequest, "Set either messages or text, not both")
        case (true, true):
            throw InferenceError(.invalidRequest, "Set the messages or the text to count")
        case (false, true):
            let messages = try proto.messages.map { try ChatMessage(proto: $0) }
            self.init(
                model: proto.model,
                input: .prompt(messages: messages, tools: proto.tools.map(ToolDefinition.init(proto:)))
            )
        case (true, false):
            guard proto.tools.isEmpty else {
                throw InferenceError(.invalidRequest, "Tools count only with messages; plain text is counted as is")
            }
            self.init(model: proto.model, input: .text(proto.text))
        }
    }
}

extension Sluice_Inference_V1_CountTokensResponse {
    init(_ result: TokenCountResult) {
        self.init()
        tokens = Int32(clamping: result.tokens)
        estimated = result.isEstimated
        encoding = result.encoding
    }
}

extension TokenCountResult {
    init(proto: Sluice_Inference_V1_CountTokensResponse) {
        self.init(tokens: Int(proto.tokens), isEstimated: proto.estimated, encoding: proto.encoding)
    }
}
