import ServiceLifecycle
import SluiceEdge
import SluiceGovernance
import SluiceInference

// TEMPORARY until the gRPC adapters land: replaced in the same session.
extension SluiceRuntime {
    func makeInferenceServer(_ inference: LocalInferenceService) throws -> [any Service] {
        throw SluiceConfiguration.Invalid(problems: ["split mode is not wired yet"])
    }
    func makeGovernanceServer(_ governance: LocalGovernanceService) throws -> [any Service] {
        throw SluiceConfiguration.Invalid(problems: ["split mode is not wired yet"])
    }
    func makeRemoteClients() throws -> (any InferenceService, any GovernanceService, [any Service]) {
        throw SluiceConfiguration.Invalid(problems: ["split mode is not wired yet"])
    }
}
