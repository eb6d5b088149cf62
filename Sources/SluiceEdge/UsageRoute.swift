import Foundation
import HTTPTypes
import Hummingbird
import SluiceGovernance

/// `GET /api/v1/usage`: the usage ledger aggregated, for admin keys, as JSON; errors are RFC 9457 problem details.
///
/// Query parameters: `since` and `until` (UTC: `YYYY-MM-DD` or an ISO 8601 time; `since` defaults to 30 days ago,
/// `until` to now), `tenant` (name or id), `project` (id), `key`, `model`, and `group_by` (comma-separated: `tenant`,
/// `project`, `key`, `model`, `provider`, `hour`, `day`; default `model`). The answer is
/// `{"object": "usage_report", "since", "until", "group_by", "rows": [...], "totals": {...}}`, each row with its
/// dimensions and `requests`, `errors`, `prompt_tokens`, `completion_tokens`, `total_tokens`, `cost_micros` and
/// `estimated_requests`.
struct UsageRoute: EdgeRoute {
    static let method = HTTPRequest.Method.get
    static let path = "/api/v1/usage"
    static let operation = AuthorizationRequest.Operation.admin

    func decode(_ request: Request, body: ByteBuffer, context: EdgeRequestContext) throws -> UsageQuery {
        let parameters = request.uri.queryParameters
        func date(_ name: String) throws -> Date? {
            guard let text = parameters[name[...]].map(String.init) else { return nil }
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            if let date = day.date(from: text) ?? ISO8601DateFormatter().date(from: text) { return date }
            throw OpenAIError.invalidParameter(
                "'\(name)' must be a date like 2026-12-01 or 2026-12-01T08:00:00Z",
                param: name
            )
        }
        func text(_ name: String) -> String? {
            parameters[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        }
        var groupBy: [UsageDimension] = []
        for name in (text("group_by") ?? "model").split(separator: ",") {
            guard let dimension = UsageDimension(rawValue: String(name)) else {
                throw OpenAIError.invalidParameter(
                    "'group_by' takes tenant, project, key, model, provider, hour and day, not '\(name)'",
                    param: "group_by"
                )
            }
            groupBy.append(dimension)
        }
        let query = UsageQuery(
            tenant: text("tenant"),
            keyID: text("key"),
            model: text("model"),
            start: try date("since") ?? Date().addingTimeInterval(-30 * 86_400),
            end: try date("until"),
            groupBy: groupBy,
            projectID: text("project")
        )
        do {
            try query.validate()
        } catch let error as GovernanceError {
            throw OpenAIError.invalidParameter(error.message, param: "group_by")
        }
        return query
    }

    func subject(of call: UsageQuery) -> RouteSubject { RouteSubject() }

    func respond(to call: UsageQuery, in exchange: RouteExchange) async throws -> RouteAnswer {
        let report = try await exchange.timed { try await exchange.services.governance.queryUsage(call) }
        return .complete(RouteBody(bytes: Self.encode(report, query: call), metered: nil))
    }

    private struct Document: Encodable {
        var object = "usage_report"
        var since: Date
        var until: Date?
        var groupBy: [String]
        var rows: [Row]
        var totals: Row

        enum CodingKeys: String, CodingKey {
            case object, since, until, rows, totals
            case groupBy = "group_by"
        }
    }

    private struct Row: Encodable {
        var tenantID: String?
        var tenant: String?
        var key: String?
        var project: String?
        var model: String?
        var provider: String?
        var bucketStart: Date?
        var requests: Int64
        var errors: Int64
        var promptTokens: Int64
        var completionTokens: Int64
        var totalTokens: Int64
        var costMicros: Int64
        var estimatedRequests: Int64

        enum CodingKeys: String, CodingKey {
            case tenant, key, project, model, provider, requests, errors
            case tenantID = "tenant_id"
            case bucketStart = "bucket_start"
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
            case costMicros = "cost_micros"
            case estimatedRequests = "estimated_requests"
        }

        init(_ row: UsageRow, groupBy: [UsageDimension]) {
            func value(_ dimension: UsageDimension, _ text: String) -> String? {
                groupBy.contains(dimension) ? text : nil
            }
            tenantID = value(.tenant, row.tenantID)
            tenant = value(.tenant, row.tenantName)
            key = value(.key, row.keyID)
            project = value(.project, row.projectID)
            model = value(.model, row.model)
            provider = value(.provider, row.provider)
            bucketStart = row.bucketStart
            requests = row.requests
            errors = row.errors
            promptTokens = row.promptTokens
            completionTokens = row.completionTokens
            totalTokens = row.totalTokens
            costMicros = row.costMicros
            estimatedRequests = row.estimatedRequests
        }
    }

    static func encode(_ report: UsageReport, query: UsageQuery) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let document = Document(
            since: query.start,
            until: query.end,
            groupBy: query.groupBy.map(\.rawValue),
            rows: report.rows.map { Row($0, groupBy: query.groupBy) },
            totals: Row(report.totals, groupBy: [])
        )
        return Array((try? encoder.encode(document)) ?? Data("{}".utf8))
    }
}
