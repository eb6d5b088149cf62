import HTTPTypes
import Hummingbird
import SluiceGovernance

/// OpenAI's `x-ratelimit-*` headers, from the request and token limits that counted a request.
///
/// Sent on every answer to a request some policy limits, the `429` that refuses one included: the three
/// `x-ratelimit-{limit,remaining,reset}-requests` headers when a requests-per-minute limit applies, the three
/// `…-tokens` headers when a tokens-per-minute limit does. The reset reads as OpenAI writes it: `"850ms"` under a
/// second, else whole seconds rounded up (`"12s"`).
enum RateLimitHeaders {
    static let limitRequests = HTTPField.Name("x-ratelimit-limit-requests")!
    static let remainingRequests = HTTPField.Name("x-ratelimit-remaining-requests")!
    static let resetRequests = HTTPField.Name("x-ratelimit-reset-requests")!
    static let limitTokens = HTTPField.Name("x-ratelimit-limit-tokens")!
    static let remainingTokens = HTTPField.Name("x-ratelimit-remaining-tokens")!
    static let resetTokens = HTTPField.Name("x-ratelimit-reset-tokens")!

    /// The headers of the limits' states; empty without any.
    static func fields(requests: LimitState?, tokens: LimitState?) -> HTTPFields {
        var fields = HTTPFields()
        if let requests {
            fields[limitRequests] = String(requests.limit)
            fields[remainingRequests] = String(max(0, requests.remaining))
            fields[resetRequests] = duration(requests.reset)
        }
        if let tokens {
            fields[limitTokens] = String(tokens.limit)
            fields[remainingTokens] = String(max(0, tokens.remaining))
            fields[resetTokens] = duration(tokens.reset)
        }
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
