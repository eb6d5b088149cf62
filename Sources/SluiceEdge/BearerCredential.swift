import HTTPTypes

/// Reads the bearer credential of a request: `Authorization: Bearer <key>`.
enum BearerCredential {
    /// The credential, or a 401 in OpenAI's shape when it is missing, malformed or sent twice.
    ///
    /// - Parameter headers: The request's headers.
    /// - Returns: The token.
    static func token(in headers: HTTPFields) throws -> String {
        // One pass over the fields: `headers[.authorization]` would join repeated fields into one new string.
        var header: String?
        for field in headers where field.name == .authorization {
            guard header == nil else {
                throw OpenAIError(
                    .unauthorized,
                    type: "invalid_request_error",
                    code: "invalid_api_key",
                    message: "Send one Authorization header, not several"
                )
            }
            header = field.value
        }
        guard let header, let token = parse(header) else {
            throw OpenAIError(
                .unauthorized,
                type: "invalid_request_error",
                code: "invalid_api_key",
                message: "Missing API key: send 'Authorization: Bearer <key>'"
            )
        }
        return token
    }

    private static let scheme = Array("bearer ".utf8)

    /// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, spaces and tabs around the
    /// token ignored), or `nil` when the value is not a non-empty bearer credential.
    static func parse(_ header: String) -> String? {
        let utf8 = header.utf8
        guard utf8.count > scheme.count else { return nil }
        for (byte, expected) in zip(utf8, scheme) where byte | 0x20 != expected | 0x20 {
            return nil
        }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var token = utf8.dropFirst(scheme.count)
        while let first = token.first, isBlank(first) { token = token.dropFirst() }
        while let last = token.last, isBlank(last) { token = token.dropLast() }
        return token.isEmpty ? nil : String(Substring(token))
    }
}
