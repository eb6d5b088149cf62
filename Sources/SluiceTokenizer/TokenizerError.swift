/// An error raised while loading a tokenizer or decoding tokens.
///
/// Switch over ``code`` to react to a kind of failure; ``message`` says what happened in words an operator can act
/// on, and ``cause`` holds the underlying error, if any.
///
/// ```swift
/// do {
///     let encoding = try TokenizerStore.cl100k(dataDirectory: dataDirectory)
/// } catch let error as TokenizerError where error.code == .fileNotFound {
///     logger.warning("\(error)")  // tells the operator to run scripts/fetch-tokenizer.sh
/// }
/// ```
package struct TokenizerError: Error, Hashable, CustomStringConvertible {
    /// The kind of a ``TokenizerError``.
    ///
    /// New codes may be added in the future; match with `==` and keep a default case.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case fileNotFound
            case unreadableFile
            case hashMismatch
            case malformedRanks
            case unknownToken
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// The ranks file does not exist.
        package static let fileNotFound = Self(.fileNotFound)
        /// The ranks file exists but could not be read.
        package static let unreadableFile = Self(.unreadableFile)
        /// The ranks file's SHA-256 is not the expected one.
        package static let hashMismatch = Self(.hashMismatch)
        /// The ranks file is not a list of `base64-token rank` lines, or it repeats a token or a rank.
        package static let malformedRanks = Self(.malformedRanks)
        /// A token id given to a decoder is not part of the encoding.
        package static let unknownToken = Self(.unknownToken)

        /// The code's name, such as `hashMismatch`.
        package var description: String {
            String(describing: wrapped)
        }
    }

    /// The kind of failure.
    package var code: Code
    /// A description of the failure and, where there is one, of the fix.
    package var message: String
    /// The underlying error, if any.
    package var cause: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A description of the failure and, where there is one, of the fix.
    ///   - cause: The underlying error, if any.
    package init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `code: message`, followed by the cause when there is one.
    package var description: String {
        if let cause {
            return "\(code): \(message) (cause: \(cause))"
        }
        return "\(code): \(message)"
    }

    /// Two errors are equal when their codes and messages are; causes are not compared.
    ///
    /// - Parameters:
    ///   - lhs: An error.
    ///   - rhs: Another error.
    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// Hashes the code and the message.
    ///
    /// - Parameters:
    ///   - hasher: The hasher to feed.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
