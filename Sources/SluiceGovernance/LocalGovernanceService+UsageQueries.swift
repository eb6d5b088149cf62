import Foundation
import GRDB

/// Aggregating the usage ledger.
extension LocalGovernanceService {
    // MARK: - Usage queries

    /// Aggregates the ledger: calls, errors, tokens, costs and estimated calls per group.
    ///
    /// The range is of recording times (UTC). Hour and day buckets are UTC. Rows come sorted by the grouping
    /// dimensions in query order; the totals cover every row.
    ///
    /// - Parameter query: The range, filters and grouping.
    /// - Returns: The rows and their totals.
    /// - Throws: ``GovernanceError`` `invalidArgument` for a malformed query, `notFound` for an unknown tenant.
    package func queryUsage(_ query: UsageQuery) async throws -> UsageReport {
        try query.validate()
        let end = query.end ?? Date()
        return try await store.writer.read { db in
            var conditions = ["l.recorded_at >= ?", "l.recorded_at < ?"]
            var arguments: [any DatabaseValueConvertible] = [query.start, end]
            if let tenant = query.tenant {
                conditions.append("l.tenant_id = ?")
                arguments.append(try Self.tenantID(tenant, db))
            }
            if let key = query.keyID {
                conditions.append("l.key_id = ?")
                arguments.append(key)
            }
            if let project = query.projectID {
                conditions.append("l.project_id = ?")
                arguments.append(project)
            }
            if let model = query.model {
                conditions.append("l.model = ?")
                arguments.append(model)
            }
            let dimensions = query.groupBy.map { dimension -> String in
                switch dimension {
                case .tenant: "l.tenant_id"
                case .key: "l.key_id"
                case .model: "l.model"
                case .provider: "l.provider"
                case .project: "l.project_id"
                case .hour: "substr(l.recorded_at, 1, 13)"
                case .day: "substr(l.recorded_at, 1, 10)"
                }
            }
            let selected = dimensions.enumerated().map { "\($1) AS d\($0)" }
            let grouping =
                dimensions.isEmpty
                ? ""
                : "GROUP BY \(dimensions.joined(separator: ", ")) ORDER BY "
                    + (0..<dimensions.count).map { "d\($0)" }.joined(separator: ", ")
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \((selected + ["MAX(t.name) AS tenant_name"]).joined(separator: ", ")),
                           COUNT(*) AS requests, COALESCE(SUM(l.outcome <> 'ok'), 0) AS errors,
                           COALESCE(SUM(l.prompt_tokens), 0) AS prompt_tokens,
                           COALESCE(SUM(l.completion_tokens), 0) AS completion_tokens,
                           COALESCE(SUM(l.cost_micros), 0) AS cost_micros,
                           COALESCE(SUM(l.estimated), 0) AS estimated
                    FROM usage_ledger l LEFT JOIN tenant t ON t.id = l.tenant_id
                    WHERE \(conditions.joined(separator: " AND "))
                    \(grouping)
                    """,
                arguments: StatementArguments(arguments)
            )
            var report = UsageReport(rows: [], totals: UsageRow())
            for row in rows {
                var usage = UsageRow()
                usage.requests = row["requests"]
                usage.errors = row["errors"]
                usage.promptTokens = row["prompt_tokens"]
                usage.completionTokens = row["completion_tokens"]
                usage.costMicros = row["cost_micros"]
                usage.estimatedRequests = row["estimated"]
                for (index, dimension) in query.groupBy.enumerated() {
                    let value: String = row["d\(index)"] ?? ""
                    switch dimension {
                    case .tenant:
                        usage.tenantID = value
                        usage.tenantName = row["tenant_name"] ?? ""
                    case .key: usage.keyID = value
                    case .model: usage.model = value
                    case .provider: usage.provider = value
                    case .project: usage.projectID = value
                    case .hour: usage.bucketStart = Self.bucketStart(value + ":00")
                    case .day: usage.bucketStart = Self.bucketStart(value + " 00:00")
                    }
                }
                report.totals.requests += usage.requests
                report.totals.errors += usage.errors
                report.totals.promptTokens += usage.promptTokens
                report.totals.completionTokens += usage.completionTokens
                report.totals.costMicros += usage.costMicros
                report.totals.estimatedRequests += usage.estimatedRequests
                // Without grouping SQLite answers one row even for an empty range; it is the totals, not a group.
                if !query.groupBy.isEmpty { report.rows.append(usage) }
            }
            if query.groupBy.isEmpty { report.rows = [report.totals] }
            return report
        }
    }

    /// The start of a bucket written as `yyyy-MM-dd HH:mm` (UTC).
    private static func bucketStart(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.date(from: text)
    }
}
