import ArgumentParser
import Foundation
import SluiceGovernance

/// `sluice usage`: the usage ledger aggregated, from the governance database in the data directory.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show usage and costs from the ledger, grouped.",
        discussion: """
            Dates are UTC: YYYY-MM-DD (midnight) or a full ISO 8601 time. Costs are in US dollars, from the price \
            book that priced each call when it was recorded.
            """
    )

    @OptionGroup var options: GlobalOptions
    @Option(help: "Only this tenant (name or id).") var tenant: String?
    @Option(help: "Only this key.") var key: String?
    @Option(help: "Only this project (id).") var project: String?
    @Option(help: "Only this public model.") var model: String?
    @Option(help: "The start of the range, inclusive (default: 30 days ago).") var since: String?
    @Option(help: "The end of the range, exclusive (default: now).") var until: String?
    @Option(help: "Comma-separated groupings: tenant, project, key, model, provider, hour, day (default: model).")
    var by: String = "model"
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let start = try since.map { try Self.date($0, option: "--since") } ?? Date().addingTimeInterval(-30 * 86_400)
        let end = try until.map { try Self.date($0, option: "--until") }
        var groupBy: [UsageDimension] = []
        for name in by.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let dimension = UsageDimension(rawValue: name) else {
                throw ValidationError("--by: '\(name)' is not one of tenant, project, key, model, provider, hour, day")
            }
            groupBy.append(dimension)
        }
        let query = UsageQuery(
            tenant: tenant,
            keyID: key,
            model: model,
            start: start,
            end: end,
            groupBy: groupBy,
            projectID: project
        )
        let report = try await KeysCommand.run { try await KeysCommand.governance(options).queryUsage(query) }
        print(json ? Self.json(report, groupBy: groupBy) : Self.table(report, groupBy: groupBy))
    }

    /// A UTC day or an ISO 8601 time.
    static func date(_ text: String, option: String) throws -> Date {
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        throw ValidationError("\(option): '\(text)' is not a date like 2026-12-01 or 2026-12-01T08:00:00Z")
    }

    /// Dollars with six decimals (micro-dollar precision).
    static func dollars(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let fraction = String(magnitude % 1_000_000)
        return "\(sign)$\(magnitude / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    private static func labels(_ row: UsageRow, groupBy: [UsageDimension]) -> [String] {
        groupBy.map { dimension in
            switch dimension {
            case .tenant: row.tenantName.isEmpty ? row.tenantID : row.tenantName
            case .key: row.keyID
            case .project: row.projectID.isEmpty ? "-" : row.projectID
            case .model: row.model
            case .provider: row.provider.isEmpty ? "-" : row.provider
            case .hour: row.bucketStart.map { ISO8601DateFormatter().string(from: $0) } ?? ""
            case .day: row.bucketStart.map { String(ISO8601DateFormatter().string(from: $0).prefix(10)) } ?? ""
            }
        }
    }

    private static func figures(_ row: UsageRow) -> [String] {
        [
            String(row.requests), String(row.errors), String(row.promptTokens), String(row.completionTokens),
            dollars(row.costMicros), String(row.estimatedRequests),
        ]
    }

    /// The report as an aligned table with a totals line.
    static func table(_ report: UsageReport, groupBy: [UsageDimension]) -> String {
        let header = groupBy.map(\.rawValue) + ["requests", "errors", "prompt", "completion", "cost", "estimated"]
        var lines = [header]
        if !groupBy.isEmpty {
            lines += report.rows.map { labels($0, groupBy: groupBy) + figures($0) }
        }
        lines.append(
            (groupBy.isEmpty ? [] : ["total"] + Array(repeating: "", count: groupBy.count - 1)) + figures(report.totals)
        )
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { column, cell in
                column < groupBy.count
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The report as JSON: `{"rows": [...], "totals": {...}}`, costs in micro-dollars.
    static func json(_ report: UsageReport, groupBy: [UsageDimension]) -> String {
        func object(_ row: UsageRow, grouped: Bool) -> [String: Any] {
            var object: [String: Any] = [
                "requests": row.requests, "errors": row.errors, "prompt_tokens": row.promptTokens,
                "completion_tokens": row.completionTokens, "total_tokens": row.totalTokens,
                "cost_micros": row.costMicros, "estimated_requests": row.estimatedRequests,
            ]
            guard grouped else { return object }
            for (dimension, label) in zip(groupBy, labels(row, groupBy: groupBy)) {
                object[dimension.rawValue] = label
            }
            return object
        }
        let document: [String: Any] = [
            "rows": report.rows.map { object($0, grouped: !groupBy.isEmpty) },
            "totals": object(report.totals, grouped: false),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
