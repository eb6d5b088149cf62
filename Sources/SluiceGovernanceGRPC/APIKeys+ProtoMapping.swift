import Foundation
import SluiceGovernance
import SluiceProtos
import SwiftProtobuf

// API keys between the domain and `sluice.governance.v1`.
//
// The domain names tenants where the proto has `tenant_id` fields (CreateKey creates the tenant by name; ListKeys
// filters by name), so those fields carry the tenant name; the server also accepts a real tenant id in ListKeys.
// `KeyInfo` has no tenant name: it travels as `sluice-tenant-name-bin` metadata (see `GovernanceMetadata`).

extension Sluice_Governance_V1_CreateKeyRequest {
    init(_ request: KeyCreationRequest) {
        self.init()
        tenantID = request.tenant
        name = request.name
        allowedModels = AllowedModels.encode(request.allowedModels)
        roles = request.roles.map(Sluice_Governance_V1_Role.init)
    }
}

extension KeyCreationRequest {
    init(proto: Sluice_Governance_V1_CreateKeyRequest) {
        self.init(
            tenant: proto.tenantID,
            name: proto.name,
            allowedModels: AllowedModels.decode(proto.allowedModels),
            roles: proto.roles.compactMap(\.domainValue)
        )
    }
}

extension Sluice_Governance_V1_KeyInfo {
    init(_ key: APIKeyInfo) {
        self.init()
        id = key.id
        tenantID = key.tenantID
        name = key.name
        allowedModels = AllowedModels.encode(key.allowedModels)
        roles = key.roles.map(Sluice_Governance_V1_Role.init)
        status = key.revokedAt == nil ? .active : .revoked
        createdAt = Google_Protobuf_Timestamp(date: key.createdAt)
        if let revokedAt = key.revokedAt { self.revokedAt = Google_Protobuf_Timestamp(date: revokedAt) }
    }
}

extension APIKeyInfo {
    /// Decodes a key.
    ///
    /// - Parameters:
    ///   - proto: The key.
    ///   - tenantName: The tenant name from metadata; `nil` uses the tenant id.
    init(proto: Sluice_Governance_V1_KeyInfo, tenantName: String?) {
        self.init(
            id: proto.id,
            tenantID: proto.tenantID,
            tenantName: tenantName ?? proto.tenantID,
            name: proto.name,
            allowedModels: AllowedModels.decode(proto.allowedModels),
            roles: proto.roles.compactMap(\.domainValue),
            createdAt: proto.createdAt.date,
            revokedAt: proto.hasRevokedAt ? proto.revokedAt.date : nil
        )
    }
}
