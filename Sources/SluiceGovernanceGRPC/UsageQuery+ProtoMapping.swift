import Foundation
import SluiceGovernance
import SluiceProtos
import SwiftProtobuf

// Usage queries between the domain and `sluice.governance.v1`.

extension UsageQuery {
    /// Decodes a query.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` without a start, or for a grouping the ledger cannot answer
    ///   (`OPERATION`: the ledger does not record operations yet).
    init(proto: Sluice_Governance_V1_QueryUsageRequest) throws {
        guard proto.hasStart else { throw GovernanceError(.invalidArgument, "A query needs its start") }
        let groupBy = try proto.groupBy.map { dimension -> UsageDimension in
            switch dimension {
            case .tenant: return .tenant
            case .key: return .key
            case .model: return .model
            case .provider: return .provider
            case .project: return .project
            case .hour: return .hour
            case .day: return .day
            case .operation:
                throw GovernanceError(.invalidArgument, "The ledger does not record operations yet; group otherwise")
            case .unspecified, .UNRECOGNIZED:
                throw GovernanceError(.invalidArgument, "group_by holds an unknown dimension")
            }
        }
        self.init(
            tenant: proto.tenantID.isEmpty ? nil : proto.tenantID,
            keyID: proto.keyID.isEmpty ? nil : proto.keyID,
            model: proto.model.isEmpty ? nil : proto.model,
            start: proto.start.date,
            end: proto.hasEnd ? proto.end.date : nil,
            groupBy: groupBy,
            projectID: proto.projectID.isEmpty ? nil : proto.projectID
        )
    }
}

extension Sluice_Governance_V1_QueryUsageRequest {
    /// Encodes a query.
    init(_ query: UsageQuery) {
        self.init()
        tenantID = query.tenant ?? ""
        keyID = query.keyID ?? ""
        model = query.model ?? ""
        projectID = query.projectID ?? ""
        start = Google_Protobuf_Timestamp(date: query.start)
        if let end = query.end { self.end = Google_Protobuf_Timestamp(date: end) }
        groupBy = query.groupBy.map { dimension in
            switch dimension {
            case .tenant: .tenant
            case .key: .key
            case .model: .model
            case .provider: .provider
            case .project: .project
            case .hour: .hour
            case .day: .day
            }
        }
    }
}

extension Sluice_Governance_V1_UsageRow {
    /// Encodes a row.
    init(_ row: UsageRow) {
        self.init()
        tenantID = row.tenantID
        keyID = row.keyID
        projectID = row.projectID
        model = row.model
        provider = row.provider
        if let start = row.bucketStart { bucketStart = Google_Protobuf_Timestamp(date: start) }
        requests = row.requests
        errors = row.errors
        promptTokens = row.promptTokens
        completionTokens = row.completionTokens
        totalTokens = row.totalTokens
        costMicros = row.costMicros
        estimatedRequests = row.estimatedRequests
    }
}

extension UsageRow {
    /// Decodes a row.
    init(proto: Sluice_Governance_V1_UsageRow) {
        self.init()
        tenantID = proto.tenantID
        keyID = proto.keyID
        projectID = proto.projectID
        model = proto.model
        provider = proto.provider
        bucketStart = proto.hasBucketStart ? proto.bucketStart.date : nil
        requests = proto.requests
        errors = proto.errors
        promptTokens = proto.promptTokens
        completionTokens = proto.completionTokens
        costMicros = proto.costMicros
        estimatedRequests = proto.estimatedRequests
    }
}

/// Where a `QueryUsage` page ended: the number of rows before the next page, as an opaque `page_token`.
///
/// Rows are sorted by their dimensions over a fixed range, so an offset is stable unless calls are recorded inside
/// the range between two pages (a range that ends in the past never changes).
enum UsagePageToken {
    /// The offset a request's token names; 0 for none.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` for a token this service did not make.
    static func offset(_ token: String) throws -> Int {
        guard !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("usage:"), let offset = Int(text.dropFirst(6)), offset > 0
        else {
            throw GovernanceError(.invalidArgument, "page_token is not a token from a previous QueryUsage answer")
        }
        return offset
    }

    /// The token of the page starting at `offset`.
    static func token(offset: Int) -> String {
        Data("usage:\(offset)".utf8).base64EncodedString()
    }
}
