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
        projectID = request.project ?? ""
    }
}

extension KeyCreationRequest {
    /// Decodes a creation request, refusing what governance does not support yet rather than ignoring it.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` for a missing name, a role other than platform admin or
    ///   user, or a user or expiry (keys belong to no user, and never expire, until those land).
    init(proto: Sluice_Governance_V1_CreateKeyRequest) throws {
        guard !proto.name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw GovernanceError(.invalidArgument, "A key name is required")
        }
        var roles: [Role] = []
        for role in proto.roles {
            guard let domain = role.domainValue else {
                throw GovernanceError(
                    .invalidArgument,
                    "Only platform-admin and user keys can be created; the role \(role) is not supported yet"
                )
            }
            roles.append(domain)
        }
        guard proto.userID.isEmpty else {
            throw GovernanceError(.invalidArgument, "Keys of a user are not supported yet")
        }
        guard !proto.hasExpiresAt else {
            throw GovernanceError(.invalidArgument, "Keys that expire are not supported yet")
        }
        self.init(
            tenant: proto.tenantID,
            name: proto.name,
            allowedModels: AllowedModels.decode(proto.allowedModels),
            roles: roles,
            project: proto.projectID.isEmpty ? nil : proto.projectID
        )
    }
}

extension Sluice_Governance_V1_KeyInfo {
    init(_ key: APIKeyInfo) {
        self.init()
        id = key.id
        tenantID = key.tenantID
        projectID = key.projectID ?? ""
        name = key.name
        prefix = KeyMaterial.prefix + key.id
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
            revokedAt: proto.hasRevokedAt ? proto.revokedAt.date : nil,
            projectID: proto.projectID.isEmpty ? nil : proto.projectID
        )
    }
}
