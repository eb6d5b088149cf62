import Foundation

extension SluiceConfiguration {
    /// Governance settings.
    package struct Governance: Sendable, Hashable, Codable {
        /// A price book file replacing the built-in one; `nil` uses the built-in book.
        package var priceBookFile: String?
        /// The governance database file; `nil` is `governance.sqlite` in the data directory. Replicas on one host
        /// share keys, policies and the ledger by naming the same file.
        package var database: String?
        /// How requests count against rate limits and budgets.
        package var limits = Limits()

        /// Creates the defaults.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case priceBookFile = "price_book_file"
            case limits, database
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            priceBookFile = try container.decodeIfPresent(String.self, forKey: .priceBookFile)
            database = try container.decodeIfPresent(String.self, forKey: .database)
            limits = try container.decodeIfPresent(Limits.self, forKey: .limits) ?? limits
        }

        /// How requests count against rate limits and budgets (section `governance.limits`).
        ///
        /// - `estimated_completion_tokens` (1024): the completion tokens a request without `max_tokens` counts against
        ///   tokens-per-minute limits until its real use corrects the count.
        /// - `completion_token_cap` (4096): the completion tokens a request without `max_tokens` reserves against
        ///   budgets; a stream that reaches them is ended with an `insufficient_quota` error chunk.
        /// - `reservation_timeout_seconds` (600): how long a reservation no usage record settles holds budget.
        /// - `fail_open` (false): with `redis.url`, whether requests go through without limits while Redis is
        ///   unreachable rather than being refused with 503 `governance_unavailable`.
        package struct Limits: Sendable, Hashable, Codable {
            /// See the type.
            package var estimatedCompletionTokens: Int64 = 1_024
            /// See the type.
            package var completionTokenCap: Int64 = 4_096
            /// See the type.
            package var reservationTimeoutSeconds: Int = 600
            /// See the type.
            package var failOpen = false

            /// Creates the defaults.
            package init() {}

            enum CodingKeys: String, CodingKey {
                case estimatedCompletionTokens = "estimated_completion_tokens"
                case completionTokenCap = "completion_token_cap"
                case reservationTimeoutSeconds = "reservation_timeout_seconds"
                case failOpen = "fail_open"
            }

            /// Decodes from the configuration file; absent keys keep their defaults.
            package init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                estimatedCompletionTokens =
                    try container.decodeIfPresent(Int64.self, forKey: .estimatedCompletionTokens)
                    ?? estimatedCompletionTokens
                completionTokenCap =
                    try container.decodeIfPresent(Int64.self, forKey: .completionTokenCap) ?? completionTokenCap
                reservationTimeoutSeconds =
                    try container.decodeIfPresent(Int.self, forKey: .reservationTimeoutSeconds)
                    ?? reservationTimeoutSeconds
                failOpen = try container.decodeIfPresent(Bool.self, forKey: .failOpen) ?? failOpen
            }

            /// Problems with the values, naming their keys.
            var problems: [String] {
                var problems: [String] = []
                if estimatedCompletionTokens < 0 {
                    problems.append("governance.limits.estimated_completion_tokens must not be negative")
                }
                if completionTokenCap < 1 {
                    problems.append("governance.limits.completion_token_cap must be at least 1")
                }
                if reservationTimeoutSeconds < 1 {
                    problems.append("governance.limits.reservation_timeout_seconds must be at least 1")
                }
                return problems
            }
        }
    }

    /// Redis, shared by governance replicas for rate limits and budget reservations (section `redis`).
    ///
    /// - `url` / `SLUICE_REDIS_URL`: `redis://[:password@]host:port[/db]`; unset keeps limits in process. The
    ///   password is never logged or printed by `sluice config show`.
    /// - `connections` (2): connections to Redis, each with its own thread.
    /// - `connect_timeout_ms` (1000), `command_timeout_ms` (1000): past them Redis counts as unreachable.
    package struct Redis: Sendable, Hashable, Codable {
        /// See the type.
        package var url: String?
        /// See the type.
        package var connections = 2
        /// See the type.
        package var connectTimeoutMs = 1_000
        /// See the type.
        package var commandTimeoutMs = 1_000

        /// Creates the defaults: no Redis.
        package init() {}

        enum CodingKeys: String, CodingKey {
            case url, connections
            case connectTimeoutMs = "connect_timeout_ms"
            case commandTimeoutMs = "command_timeout_ms"
        }

        /// Decodes from the configuration file; absent keys keep their defaults.
        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decodeIfPresent(String.self, forKey: .url)
            connections = try container.decodeIfPresent(Int.self, forKey: .connections) ?? connections
            connectTimeoutMs = try container.decodeIfPresent(Int.self, forKey: .connectTimeoutMs) ?? connectTimeoutMs
            commandTimeoutMs = try container.decodeIfPresent(Int.self, forKey: .commandTimeoutMs) ?? commandTimeoutMs
        }

        /// A URL with its credentials replaced by `(redacted)`.
        static func redacting(_ url: String) -> String {
            guard let scheme = url.range(of: "://"), let at = url.range(of: "@", options: .backwards),
                scheme.upperBound <= at.lowerBound
            else { return url }
            return url[..<scheme.upperBound] + "(redacted)" + url[at.lowerBound...]
        }
    }
}
