import SluiceInference
import SluiceProtos

// The model catalog and token counts between the domain and `sluice.inference.v1`.

extension Sluice_Inference_V1_Model {
    /// Encodes a catalog entry; deployment priorities are the domain's order, from 0.
    init(_ model: ModelDescriptor) {
        self.init()
        id = model.id
        ownedBy = model.ownedBy
        deployments = model.deployments.enumerated().map { index, value in
            var deployment = Sluice_Inference_V1_Deployment()
            deployment.provider = value.provider
            deployment.upstreamModel = value.model
            deployment.priority = Int32(clamping: index)
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
            deployments: ordered.map { Deployment(provider: $0.element.provider, model: $0.element.upstreamModel) }
        )
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
