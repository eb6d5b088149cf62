import ArgumentParser
import Foundation
import SluiceGovernance

/// `sluice policy set|show`: tenant and key policies, in the governance database of the data directory.
///
/// A change applies to running servers on the same database within a second (their key cache's lifetime).
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Set and show the policies of tenants and keys.",
        subcommands: [Set.self, Show.self]
    )

    /// Which scope a command acts on: exactly one of `--tenant` and `--key`.
    struct ScopeOptions: ParsableArguments {
        @Option(help: "A tenant, by name or id.") var tenant: String?
        @Option(help: "A key, by id.") var key: String?

        func scope() throws -> Policy.Scope {
            switch (tenant, key) {
            case (let tenant?, nil): .tenant(tenant)
            case (nil, let key?): .key(key)
            default: throw ValidationError("Name exactly one of --tenant and --key")
            }
        }
    }

    /// `sluice policy set --tenant NAME | --key ID [--rpm N] [--models a,b] [--allow-route-override true|false]`.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a policy: what is not given is not limited at this level.",
            discussion: """
                --rpm limits requests per minute (every key of a tenant counts against the tenant's limit). \
                --models narrows the models (public names, `*` wildcards). --allow-route-override decides whether \
                keys may send X-Sluice-Route (unset: admin keys only). Limits in tokens and budgets are not \
                enforced yet and cannot be set.
                """
        )

        @OptionGroup var options: GlobalOptions
        @OptionGroup var scope: ScopeOptions
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Comma-separated models allowed at this level.") var models: String?
        @Option(help: "Whether keys may override routing (true or false).") var allowRouteOverride: Bool?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let policy = Policy(
                allowedModels: models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                requestsPerMinute: rpm,
                allowRouteOverride: allowRouteOverride
            )
            let target = try scope.scope()
            let record = try await KeysCommand.run {
                try await KeysCommand.governance(options).setPolicy(policy, for: target)
            }
            print(json ? PolicyCommand.json(record) : PolicyCommand.text(record))
        }
    }

    /// `sluice policy show --tenant NAME | --key ID [--json]`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a policy, and a key's effective policy.")

        @OptionGroup var options: GlobalOptions
        @OptionGroup var scope: ScopeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let target = try scope.scope()
            let record = try await KeysCommand.run { try await KeysCommand.governance(options).policy(for: target) }
            print(json ? PolicyCommand.json(record) : PolicyCommand.text(record))
        }
    }

    private static func fields(
        models: [[String]],
        rpm: Int?,
        allowRouteOverride: Bool?
    ) -> [(String, String)] {
        [
            ("models", models.isEmpty ? "all" : models.map { $0.joined(separator: ",") }.joined(separator: " ∩ ")),
            ("rpm", rpm.map(String.init) ?? "unlimited"),
            ("route override", allowRouteOverride.map { $0 ? "allowed" : "refused" } ?? "admin keys only"),
        ]
    }

    static func text(_ record: PolicyRecord) -> String {
        let policy = record.policy
        var lines = ["policy of \(record.scope)" + (record.updatedAt == nil ? " (never set)" : "")]
        lines += fields(
            models: policy.allowedModels.map { [$0] } ?? [],
            rpm: policy.requestsPerMinute,
            allowRouteOverride: policy.allowRouteOverride
        ).map { "  \($0): \($1)" }
        if let effective = record.effective {
            lines.append("effective, with the tenant's")
            lines += fields(
                models: effective.allowLists,
                rpm: effective.requestsPerMinute,
                allowRouteOverride: effective.allowRouteOverride
            ).map { "  \($0): \($1)" }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ record: PolicyRecord) -> String {
        var object: [String: Any] = ["scope": record.scope.description]
        object["allowed_models"] = record.policy.allowedModels ?? NSNull()
        object["rpm"] = record.policy.requestsPerMinute ?? NSNull()
        object["allow_route_override"] = record.policy.allowRouteOverride ?? NSNull()
        object["updated_at"] = record.updatedAt.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull()
        if let effective = record.effective {
            object["effective"] =
                [
                    "allow_lists": effective.allowLists,
                    "rpm": effective.requestsPerMinute ?? NSNull(),
                    "allow_route_override": effective.allowRouteOverride ?? NSNull(),
                ] as [String: Any]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
