import Foundation
import SluiceGovernance

/// Where a `ListKeys` page ended, as the opaque `page_token` of the next request.
///
/// Keys are listed newest first: by creation time, then by id, both descending. A token names the last key of a
/// page by those two values, so the next page starts right after it even when keys were created or revoked in
/// between (no key is skipped or repeated).
struct KeyPageToken {
    /// The creation time of the page's last key, in milliseconds since 1970.
    var createdAtMilliseconds: Int64
    /// The page's last key id.
    var id: String

    /// The token after `key`.
    init(after key: APIKeyInfo) {
        createdAtMilliseconds = Self.milliseconds(key.createdAt)
        id = key.id
    }

    /// Reads a request's token; `nil` for none.
    ///
    /// - Throws: ``GovernanceError`` `invalidArgument` for a token this service did not make.
    init?(_ text: String) throws {
        guard !text.isEmpty else { return nil }
        let invalid = GovernanceError(.invalidArgument, "page_token is not a token from a previous ListKeys answer")
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else {
            throw invalid
        }
        let parts = decoded.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let milliseconds = Int64(parts[0]), !parts[1].isEmpty else { throw invalid }
        createdAtMilliseconds = milliseconds
        id = String(parts[1])
    }

    /// The token as it travels: URL-safe base64 without padding.
    var text: String {
        Data("\(createdAtMilliseconds):\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `key` comes after the token's key, newest first.
    func precedes(_ key: APIKeyInfo) -> Bool {
        let milliseconds = Self.milliseconds(key.createdAt)
        return milliseconds < createdAtMilliseconds || (milliseconds == createdAtMilliseconds && key.id < id)
    }

    /// Keys in listing order: newest first, ties by id, descending.
    static func newestFirst(_ keys: [APIKeyInfo]) -> [APIKeyInfo] {
        keys.sorted { lhs, rhs in
            let (left, right) = (milliseconds(lhs.createdAt), milliseconds(rhs.createdAt))
            return left != right ? left > right : lhs.id > rhs.id
        }
    }

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
