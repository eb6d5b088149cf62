import GRDB

/// An error of the governance service, with a stable, extensible code.
package struct GovernanceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package var code: Code
    /// A message safe to show to the caller.
    package var message: String
    /// For ``Code/rateLimited`` and ``Code/budgetExhausted``: how long until a request could be admitted; `nil` for a
    /// request that can never be (larger than the limit).
    package var retryAfter: Duration?
    /// For ``Code/rateLimited``: the state of the requests-per-minute limit that refused.
    package var requestLimit: LimitState?
    /// For ``Code/rateLimited``: the state of the tokens-per-minute limit that refused.
    package var tokenLimit: LimitState?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: A message safe to show to the caller.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A readable form, for logs and error messages.
    package var description: String { "\(code): \(message)" }

    /// The kind of a ``GovernanceError``.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable text form, used on the wire between services.
        package let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Reads a code from its text form.
        ///
        /// - Parameter rawValue: The text form.
        package init?(rawValue: String) {
            guard let known = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = known
        }

        /// A readable form, for logs and error messages.
        package var description: String { rawValue }

        /// No credential, or one that is unknown, malformed or revoked.
        package static let unauthenticated = Code("unauthenticated")
        /// The caller may not use the model.
        package static let modelNotAllowed = Code("model_not_allowed")
        /// The caller lacks the role the operation needs.
        package static let permissionDenied = Code("permission_denied")
        /// The key was revoked.
        package static let revoked = Code("revoked")
        /// The caller may not override routes.
        package static let routeNotAllowed = Code("route_not_allowed")
        /// The named key or tenant does not exist.
        package static let notFound = Code("not_found")
        /// The request itself is invalid.
        package static let invalidArgument = Code("invalid_argument")
        /// The store failed.
        package static let `internal` = Code("internal")
        /// The governance service could not be reached, or did not answer in time.
        package static let unavailable = Code("unavailable")
        /// A requests- or tokens-per-minute limit of the caller's policies is reached.
        package static let rateLimited = Code("rate_limited")
        /// A budget of the caller's policies cannot cover the request's reservation.
        package static let budgetExhausted = Code("budget_exhausted")

        private static let all: [Code] = [
            .unauthenticated, .revoked, .modelNotAllowed, .permissionDenied, .routeNotAllowed, .notFound,
            .invalidArgument,
            .internal, .unavailable, .rateLimited, .budgetExhausted,
        ]
    }
}

extension GovernanceError {
    /// The governance error an unexpected failure of the service stands for.
    ///
    /// A database that cannot be used right now (busy or locked past its timeout, an I/O error, a full disk, a file
    /// that cannot be opened) is `unavailable`, so callers deny the request (fail closed) and may retry; anything else
    /// is `internal`. The message never carries the underlying error, which may name files or SQL.
    ///
    /// - Parameter error: The failure.
    package init(unexpected error: any Error) {
        if let error = error as? GovernanceError {
            self = error
            return
        }
        if let database = error as? DatabaseError,
            [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_READONLY]
                .contains(database.resultCode)
        {
            self.init(.unavailable, "The governance database is unavailable; try again shortly")
            return
        }
        self.init(.internal, "The governance service failed unexpectedly")
    }
}
