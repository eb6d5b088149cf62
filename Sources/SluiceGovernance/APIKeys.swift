package import Foundation

/// What a new API key should be.
package struct KeyCreationRequest: Sendable, Hashable {
    /// The tenant name; the tenant is created if it does not exist.
    package var tenant: String
    /// A label for the key.
    package var name: String
    /// The models the key may use, or `nil` for every model.
    package var allowedModels: [String]?
    /// The key's roles.
    package var roles: [Role]
    /// The project the key belongs to, by name or id within the tenant (created when the tenant has no project of
    /// that name), or `nil` for none.
    package var project: String?

    /// Creates a key request.
    ///
    /// - Parameters:
    ///   - tenant: The tenant name.
    ///   - name: A label for the key.
    ///   - allowedModels: The models the key may use, or `nil` for all.
    ///   - roles: The key's roles.
    ///   - project: The key's project, by name or id, or `nil`.
    package init(
        tenant: String,
        name: String = "",
        allowedModels: [String]? = nil,
        roles: [Role] = [.member],
        project: String? = nil
    ) {
        self.tenant = tenant
        self.name = name
        self.allowedModels = allowedModels
        self.roles = roles
        self.project = project
    }
}

/// An API key as listed: everything but its secret.
package struct APIKeyInfo: Sendable, Hashable {
    /// The key id, also visible inside the key itself.
    package var id: String
    /// The tenant id.
    package var tenantID: String
    /// The tenant name.
    package var tenantName: String
    /// The key's label.
    package var name: String
    /// The models the key may use, or `nil` for all.
    package var allowedModels: [String]?
    /// The key's roles.
    package var roles: [Role]
    /// When the key was created.
    package var createdAt: Date
    /// When the key was revoked, if it was.
    package var revokedAt: Date?
    /// The key's project id, if it belongs to one.
    package var projectID: String?
    /// The key's project name, if it belongs to one.
    package var projectName: String?

    /// Creates key details.
    ///
    /// - Parameters:
    ///   - id: The key id.
    ///   - tenantID: The tenant id.
    ///   - tenantName: The tenant name.
    ///   - name: The key's label.
    ///   - allowedModels: The models the key may use.
    ///   - roles: The key's roles.
    ///   - createdAt: When the key was created.
    ///   - revokedAt: When the key was revoked.
    ///   - projectID: The key's project id.
    ///   - projectName: The key's project name.
    package init(
        id: String,
        tenantID: String,
        tenantName: String,
        name: String,
        allowedModels: [String]?,
        roles: [Role],
        createdAt: Date,
        revokedAt: Date?,
        projectID: String? = nil,
        projectName: String? = nil
    ) {
        self.id = id
        self.tenantID = tenantID
        self.tenantName = tenantName
        self.name = name
        self.allowedModels = allowedModels
        self.roles = roles
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.projectID = projectID
        self.projectName = projectName
    }
}

/// A newly created key: its details and its plaintext, shown once.
package struct CreatedKey: Sendable, Hashable {
    /// The key's details.
    package var info: APIKeyInfo
    /// The key itself; Sluice keeps only its hash.
    package var plaintext: String

    /// Creates a created-key value.
    ///
    /// - Parameters:
    ///   - info: The key's details.
    ///   - plaintext: The key itself.
    package init(info: APIKeyInfo, plaintext: String) {
        self.info = info
        self.plaintext = plaintext
    }
}
