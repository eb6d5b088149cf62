/// An error of the vector service, with a stable, extensible code.
package struct VectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package var code: Code
    /// A message safe to show to the caller.
    package var message: String

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

    /// The kind of a ``VectorError``.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable text form.
        package let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Reads a code from its text form, as sent between services.
        ///
        /// - Parameter rawValue: The text form.
        package init?(rawValue: String) {
            guard let known = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = known
        }

        /// A readable form.
        package var description: String { rawValue }

        /// A bad name, wrong vector length, NaN or infinite component, exceeded limit or malformed filter.
        package static let invalidArgument = Code("invalid_argument")
        /// The collection does not exist.
        package static let notFound = Code("not_found")
        /// A collection with that name exists with other settings.
        package static let alreadyExists = Code("already_exists")
        /// The embedding version tag differs from the collection's.
        package static let failedPrecondition = Code("failed_precondition")
        /// The instance's vector memory limit would be exceeded.
        package static let resourceExhausted = Code("resource_exhausted")
        /// The collection is still loading, or could not be loaded.
        package static let unavailable = Code("unavailable")
        /// Storage failed; the write was not acknowledged.
        package static let `internal` = Code("internal")

        private static let all: [Code] = [
            .invalidArgument, .notFound, .alreadyExists, .failedPrecondition, .resourceExhausted, .unavailable,
            .internal,
        ]
    }

    static func invalid(_ message: String) -> VectorError { VectorError(.invalidArgument, message) }
}
