import HTTPTypes
import Hummingbird
import SluiceGovernance

/// OpenAI's `x-ratelimit-*-requests` headers, from the requests-per-minute limit that counted a request.
///
/// Sent on every answer to a request some policy limits, the `429` that refuses one included; absent when no limit
/// applies. The reset reads as OpenAI writes it: `"850ms"` under a second, else whole seconds rounded up (`"12s"`).
enum RateLimitHeaders {
    static let limitRequests = HTTPField.Name("x-ratelimit-limit-requests")!
    static let remainingRequests = HTTPField.Name("x-ratelimit-remaining-requests")!
    static let resetRequests = HTTPField.Name("x-ratelimit-reset-requests")!

    /// The headers of a limit's state; empty without one.
    static func fields(_ state: RequestLimiter.State?) -> HTTPFields {
        var fields = HTTPFields()
        guard let state else { return fields }
        fields[limitRequests] = String(state.limit)
        fields[remainingRequests] = String(max(0, state.remaining))
        fields[resetRequests] = duration(state.reset)
        return fields
    }

    static func duration(_ duration: Duration) -> String {
        let milliseconds = max(0, Int((duration / .milliseconds(1)).rounded(.up)))
        return milliseconds < 1000 ? "\(milliseconds)ms" : "\((milliseconds + 999) / 1000)s"
    }
}

/// An error raised after authorization, with the rate-limit headers its answer must still carry.
struct ErrorWithHeaders: Error {
    /// The error.
    var error: any Error
    /// The headers to add to its answer.
    var headers: HTTPFields
}
