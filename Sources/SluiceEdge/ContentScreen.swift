package import SluiceGovernance

/// The pipeline's content step: looks at what a call sends to a model before any service sees it.
///
/// It sits after authorization and before the call, for every route. Redaction and moderation plug in here; until
/// they land, ``PassThroughScreen`` lets everything through.
///
/// ```swift
/// struct BlockSecrets: ContentScreen {
///     func screen(_ subject: RouteSubject, for authorization: Authorization) async throws {
///         if subject.content.contains(where: { $0.contains("BEGIN PRIVATE KEY") }) {
///             throw OpenAIError(.badRequest, type: "invalid_request_error", code: "content_blocked",
///                               message: "The request contains a private key")
///         }
///     }
/// }
/// ```
package protocol ContentScreen: Sendable {
    /// Checks a call's content.
    ///
    /// - Parameters:
    ///   - subject: The call's model, route and content.
    ///   - authorization: Who is calling.
    /// - Throws: An error the edge answers with, to refuse the call.
    func screen(_ subject: RouteSubject, for authorization: Authorization) async throws
}

/// The content screen that lets everything through.
package struct PassThroughScreen: ContentScreen {
    /// Creates the screen.
    package init() {}

    /// Lets the call through.
    package func screen(_ subject: RouteSubject, for authorization: Authorization) async throws {}
}
