package import Foundation

/// A question to the usage ledger: which calls (a time range, optionally one tenant, key or model), grouped how.
package struct UsageQuery: Sendable, Hashable {
    /// Only this tenant, by name or id; `nil` for all.
    package var tenant: String?
    /// Only this key; `nil` for all.
    package var keyID: String?
    /// Only this project, by id; `nil` for all.
    package var projectID: String?
    /// Only this public model; `nil` for all.
    package var model: String?
    /// The start of the range, inclusive.
    package var start: Date
    /// The end of the range, exclusive; `nil` for now.
    package var end: Date?
    /// The dimensions rows are grouped by, in order; empty for one row of totals.
    package var groupBy: [UsageDimension]

    /// Creates a query.
    package init(
        tenant: String? = nil,
        keyID: String? = nil,
        model: String? = nil,
        start: Date,
        end: Date? = nil,
        groupBy: [UsageDimension] = [],
        projectID: String? = nil
    ) {
        self.projectID = projectID
        self.tenant = tenant
        self.keyID = keyID
        self.model = model
        self.start = start
        self.end = end
        self.groupBy = groupBy
    }

    /// Checks the query.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument`: an end before the start, a dimension named twice, both hour
    ///   and day.
    package func validate() throws {
        if let end, end < start {
            throw GovernanceError(.invalidArgument, "The end of the range is before its start")
        }
        guard Set(groupBy).count == groupBy.count else {
            throw GovernanceError(.invalidArgument, "A grouping dimension is named twice")
        }
        guard !(groupBy.contains(.hour) && groupBy.contains(.day)) else {
            throw GovernanceError(.invalidArgument, "Group by hour or by day, not both")
        }
    }
}

/// A dimension usage can be grouped by.
package enum UsageDimension: String, Sendable, Hashable, CaseIterable {
    /// The tenant.
    case tenant
    /// The key.
    case key
    /// The public model.
    case model
    /// The provider that served the call.
    case provider
    /// The key's project (empty for keys without one).
    case project
    /// UTC hours.
    case hour
    /// UTC days.
    case day
}

/// Aggregated usage: one row per group, and the totals.
package struct UsageReport: Sendable, Hashable {
    /// The rows, sorted by the grouping dimensions in query order.
    package var rows: [UsageRow]
    /// The totals over every row (dimensions empty).
    package var totals: UsageRow

    /// Creates a report.
    package init(rows: [UsageRow], totals: UsageRow) {
        self.rows = rows
        self.totals = totals
    }
}

/// One group of the ledger. Dimensions not grouped by are empty.
package struct UsageRow: Sendable, Hashable {
    /// The tenant id.
    package var tenantID = ""
    /// The tenant name.
    package var tenantName = ""
    /// The key id.
    package var keyID = ""
    /// The project id.
    package var projectID = ""
    /// The public model.
    package var model = ""
    /// The provider.
    package var provider = ""
    /// The start of the hour or day bucket.
    package var bucketStart: Date?
    /// Calls.
    package var requests: Int64 = 0
    /// Calls that did not end `ok`.
    package var errors: Int64 = 0
    /// Prompt tokens.
    package var promptTokens: Int64 = 0
    /// Completion tokens.
    package var completionTokens: Int64 = 0
    /// Cost, in micro-dollars.
    package var costMicros: Int64 = 0
    /// Calls whose token counts were estimated.
    package var estimatedRequests: Int64 = 0

    /// Creates an empty row.
    package init() {}

    /// Prompt and completion tokens.
    package var totalTokens: Int64 { promptTokens + completionTokens }
}
