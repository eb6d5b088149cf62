import GRPCCore
import SluiceProtos
import SwiftProtobuf

/// The generated namespace of a unary governance method: its descriptor and message types.
protocol GovernanceUnaryMethod {
    associatedtype Input: SwiftProtobuf.Message & Sendable
    associatedtype Output: SwiftProtobuf.Message & Sendable
    static var descriptor: MethodDescriptor { get }
}

extension Sluice_Governance_V1_GovernanceService.Method.Authorize: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.RecordUsage: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.RecordUsageBatch: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.CreateKey: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.ListKeys: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.RevokeKey: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.QueryUsage: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.SetPolicy: GovernanceUnaryMethod {}
extension Sluice_Governance_V1_GovernanceService.Method.GetPolicy: GovernanceUnaryMethod {}
