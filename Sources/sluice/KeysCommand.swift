import ArgumentParser
import Foundation
import Logging
import SluiceGovernance
import SluiceServer

/// `sluice keys create|list|revoke`, acting on the governance database in the data directory.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    static func governance(_ options: GlobalOptions) throws -> LocalGovernanceService {
        let configuration = try ConfigCommand.loadOrExit(path: options.config)
        let store = try configuration.openGovernanceStore()
        var logger = Logger(label: "sluice.keys")
        logger.logLevel = .error
        // The CLI sees what the servers count: budgets' reservations live in Redis when replicas share them.
        return LocalGovernanceService(
            store: store,
            logger: logger,
            prices: try configuration.priceBook(),
            quotas: try configuration.makeQuotaStore(logger: logger),
            settings: configuration.quotaSettings
        )
    }

    /// `sluice keys create --tenant NAME [--project NAME] [--models a,b] [--admin] [--json]`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key; it is shown only now.")

        @OptionGroup var options: GlobalOptions
        @Option(help: "The tenant; created if it does not exist.") var tenant: String
        @Option(help: "The key's project in the tenant, by name or id; created if it does not exist.")
        var project: String?
        @Option(help: "A label for the key.") var name: String = ""
        @Option(help: "Comma-separated models the key may use (default: all).") var models: String?
        @Flag(help: "Give the key the admin role.") var admin = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let allowed = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            let request = KeyCreationRequest(
                tenant: tenant,
                name: name,
                allowedModels: allowed,
                roles: admin ? [.admin] : [.member],
                project: project
            )
            let created = try await KeysCommand.run { try await KeysCommand.governance(options).createKey(request) }
            if json {
                print(KeysCommand.json(created.info, key: created.plaintext))
            } else {
                let project = created.info.projectName.map { ", project \($0) (\(created.info.projectID ?? ""))" } ?? ""
                print("Created key \(created.info.id) for tenant \(created.info.tenantName)\(project).")
                print("API key (shown once): \(created.plaintext)")
            }
        }
    }

    /// `sluice keys list [--tenant NAME] [--json]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never their secrets).")

        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this tenant's keys.") var tenant: String?
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            let keys = try await KeysCommand.run { try await KeysCommand.governance(options).listKeys(tenant: tenant) }
            for key in keys {
                if json {
                    print(KeysCommand.json(key, key: nil))
                } else {
                    let models = key.allowedModels?.joined(separator: ",") ?? "*"
                    let state = key.revokedAt == nil ? "active" : "revoked"
                    print(
                        "\(key.id)\t\(key.tenantName)\t\(state)\tmodels=\(models)\troles=\(key.roles.map(\.rawValue).joined(separator: ","))"
                    )
                }
            }
        }
    }

    /// `sluice keys revoke ID`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The key id (the 16 hex digits after sk-sluice-).") var id: String
        @Option(help: "Why, kept in the audit log.") var reason: String = ""

        func run() async throws {
            try await KeysCommand.run { try await KeysCommand.governance(options).revokeKey(id: id, reason: reason) }
            print("Revoked key \(id).")
        }
    }

    /// Runs a governance call, turning its errors into a message and exit status 1.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as GovernanceError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
    }

    static func json(_ info: APIKeyInfo, key: String?) -> String {
        var object: [String: Any] = [
            "id": info.id,
            "tenant": info.tenantName,
            "tenant_id": info.tenantID,
            "project": info.projectName ?? NSNull(),
            "project_id": info.projectID ?? NSNull(),
            "name": info.name,
            "models": info.allowedModels.map { $0 as Any } ?? NSNull(),
            "roles": info.roles.map(\.rawValue),
            "created_at": ISO8601DateFormatter().string(from: info.createdAt),
            "revoked": info.revokedAt != nil,
        ]
        if let key { object["key"] = key }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
