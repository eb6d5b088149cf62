import GRPCCore

/// Metadata keys the governance adapter uses for what `governance.proto` v1 has no field for.
///
/// The domain carries a few values the v1 messages cannot hold: the exact error code, the exact operation of an
/// authorization (v1's `Operation` has no token counting), the tenant name of a key (`KeyInfo` has only the tenant
/// id), and the tenant name and roles of a usage record's principal. They travel as metadata, so clients that do not
/// know them still work with the plain messages.
enum GovernanceMetadata {
    /// Trailing metadata of a failed call: the stable text form of ``GovernanceError/Code``.
    static let errorCode = "sluice-error-code"
    /// Authorize request metadata: the exact ``AuthorizationRequest/Operation`` text form.
    static let operation = "sluice-operation"
    /// Tenant names as UTF-8: one value per `KeyInfo` in response order (CreateKey, ListKeys), or the usage
    /// record's principal's tenant name (RecordUsage request).
    static let tenantName = "sluice-tenant-name-bin"
    /// RecordUsage request metadata: the principal's roles, comma-separated text forms.
    static let roles = "sluice-roles"

    /// Reads the tenant names of a response or request.
    static func tenantNames(in metadata: Metadata) -> [String] {
        metadata[binaryValues: tenantName].map { String(decoding: $0, as: UTF8.self) }
    }

    /// Adds tenant names, in order.
    static func addTenantNames(_ names: some Sequence<String>, to metadata: inout Metadata) {
        for name in names {
            metadata.addBinary(Array(name.utf8), forKey: tenantName)
        }
    }
}
