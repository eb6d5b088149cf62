import ArgumentParser
import Foundation
import SluiceGovernance

/// `sluice policy set|show`: tenant, project and key policies, in the governance database of the data directory.
///
/// A change applies to running servers on the same database within a second (their key cache's lifetime).
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Set and show the policies of tenants, projects and keys.",
        subcommands: [Set.self, Show.self]
    )

    /// Which scope a command acts on: exactly one of `--tenant`, `--project` and `--key`.
    struct ScopeOptions: ParsableArguments {
        @Option(help: "A tenant, by name or id.") var tenant: String?
        @Option(help: "A project, by id or as TENANT/PROJECT.") var project: String?
        @Option(help: "A key, by id.") var key: String?

        func scope() throws -> Policy.Scope {
            switch (tenant, project, key) {
            case (let tenant?, nil, nil): .tenant(tenant)
            case (nil, let project?, nil): .project(project)
            case (nil, nil, let key?): .key(key)
            default: throw ValidationError("Name exactly one of --tenant, --project and --key")
            }
        }
    }

    /// `sluice policy set --tenant NAME | --project TENANT/NAME | --key ID [--rpm N] [--tpm N]
    /// [--budget-usd-day X] [--budget-usd-month X] [--budget-tokens-day N] [--budget-tokens-month N] [--models a,b]
    /// [--allow-route-override true|false]`.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a policy: what is not given is not limited at this level.",
            discussion: """
                --rpm and --tpm limit requests and tokens per minute; budgets cap tokens or US dollars per UTC day \
                or month. Limits and budgets count per scope: every key of a tenant counts against the tenant's. \
                --models narrows the models (public names, `*` wildcards). --allow-route-override decides whether \
                keys may send X-Sluice-Route (unset: admin keys only).
                """
        )

        @OptionGroup var options: GlobalOptions
        @OptionGroup var scope: ScopeOptions
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens (prompt and completion) per minute.") var tpm: Int?
        @Option(help: "US dollars per UTC day (up to 6 decimals).") var budgetUsdDay: String?
        @Option(help: "US dollars per UTC month (up to 6 decimals).") var budgetUsdMonth: String?
        @Option(help: "Tokens per UTC day.") var budgetTokensDay: Int64?
        @Option(help: "Tokens per UTC month.") var budgetTokensMonth: Int64?
        @Option(help: "Comma-separated models allowed at this level.") var models: String?
        @Option(help: "Whether keys may override routing (true or false).") var allowRouteOverride: Bool?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var budgets: [Policy.Budget] = []
            let day = try (
                budgetTokensDay, budgetUsdDay.map { try PolicyCommand.micros($0, option: "--budget-usd-day") }
            )
            let month = try (
                budgetTokensMonth, budgetUsdMonth.map { try PolicyCommand.micros($0, option: "--budget-usd-month") }
            )
            if day.0 != nil || day.1 != nil {
                budgets.append(Policy.Budget(period: .day, tokenLimit: day.0, moneyLimitMicros: day.1))
            }
            if month.0 != nil || month.1 != nil {
                budgets.append(Policy.Budget(period: .month, tokenLimit: month.0, moneyLimitMicros: month.1))
            }
            let policy = Policy(
                allowedModels: models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                requestsPerMinute: rpm,
                tokensPerMinute: tpm,
                budgets: budgets,
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

    /// Dollars with up to six decimals ("50", "0.25") in micro-dollars.
    static func micros(_ text: String, option: String) throws -> Int64 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, whole < 1_000_000_000,
            parts.count == 1
                || (1...6).contains(parts[1].count) && parts[1].allSatisfy(\.isASCII)
                    && Int64(parts[1]) != nil
        else { throw ValidationError("\(option): '\(text)' is not an amount of dollars like 50 or 0.25") }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        let micros = whole * 1_000_000 + (Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0)) ?? 0)
        guard micros > 0 else { throw ValidationError("\(option) must be more than 0") }
        return micros
    }

    private static func fields(
        models: [[String]],
        rpm: Int?,
        tpm: Int?,
        budgets: [Policy.Budget],
        allowRouteOverride: Bool?
    ) -> [(String, String)] {
        var fields = [
            ("models", models.isEmpty ? "all" : models.map { $0.joined(separator: ",") }.joined(separator: " ∩ ")),
            ("rpm", rpm.map(String.init) ?? "unlimited"),
            ("tpm", tpm.map(String.init) ?? "unlimited"),
        ]
        for budget in budgets {
            let limits = [budget.moneyLimitMicros.map(UsageCommand.dollars), budget.tokenLimit.map { "\($0) tokens" }]
            fields.append(("budget per \(budget.period.rawValue)", limits.compactMap(\.self).joined(separator: ", ")))
        }
        if budgets.isEmpty { fields.append(("budgets", "none")) }
        fields.append(("route override", allowRouteOverride.map { $0 ? "allowed" : "refused" } ?? "admin keys only"))
        return fields
    }

    static func text(_ record: PolicyRecord) -> String {
        let policy = record.policy
        var lines = ["policy of \(record.scope)" + (record.updatedAt == nil ? " (never set)" : "")]
        lines += fields(
            models: policy.allowedModels.map { [$0] } ?? [],
            rpm: policy.requestsPerMinute,
            tpm: policy.tokensPerMinute,
            budgets: policy.budgets,
            allowRouteOverride: policy.allowRouteOverride
        ).map { "  \($0): \($1)" }
        for status in record.budgets {
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            lines.append(
                "  used this \(status.budget.period.rawValue) (from \(day.string(from: status.start))): "
                    + "\(UsageCommand.dollars(status.used.micros)), \(status.used.tokens) tokens; reserved "
                    + "\(UsageCommand.dollars(status.reserved.micros)), \(status.reserved.tokens) tokens"
            )
        }
        if let effective = record.effective {
            lines.append("effective, with the tenant's and the project's")
            lines += fields(
                models: effective.allowLists,
                rpm: effective.requestsPerMinute,
                tpm: effective.tokensPerMinute,
                budgets: Policy.Period.allCases.compactMap { effective.budgets[$0] },
                allowRouteOverride: effective.allowRouteOverride
            ).map { "  \($0): \($1)" }
        }
        return lines.joined(separator: "\n")
    }

    private static func json(_ budgets: [Policy.Budget]) -> [[String: Any]] {
        budgets.map { budget in
            [
                "period": budget.period.rawValue,
                "token_limit": budget.tokenLimit ?? NSNull(),
                "money_limit_micros": budget.moneyLimitMicros ?? NSNull(),
            ] as [String: Any]
        }
    }

    static func json(_ record: PolicyRecord) -> String {
        var object: [String: Any] = ["scope": record.scope.description]
        object["allowed_models"] = record.policy.allowedModels ?? NSNull()
        object["rpm"] = record.policy.requestsPerMinute ?? NSNull()
        object["tpm"] = record.policy.tokensPerMinute ?? NSNull()
        object["budgets"] = json(record.policy.budgets)
        object["allow_route_override"] = record.policy.allowRouteOverride ?? NSNull()
        object["updated_at"] = record.updatedAt.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull()
        object["budget_status"] = record.budgets.map { status in
            [
                "period": status.budget.period.rawValue,
                "period_start": ISO8601DateFormatter().string(from: status.start),
                "period_end": ISO8601DateFormatter().string(from: status.end),
                "tokens_used": status.used.tokens, "money_used_micros": status.used.micros,
                "tokens_reserved": status.reserved.tokens, "money_reserved_micros": status.reserved.micros,
            ] as [String: Any]
        }
        if let effective = record.effective {
            object["effective"] =
                [
                    "allow_lists": effective.allowLists,
                    "rpm": effective.requestsPerMinute ?? NSNull(),
                    "tpm": effective.tokensPerMinute ?? NSNull(),
                    "budgets": json(Policy.Period.allCases.compactMap { effective.budgets[$0] }),
                    "allow_route_override": effective.allowRouteOverride ?? NSNull(),
                ] as [String: Any]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
