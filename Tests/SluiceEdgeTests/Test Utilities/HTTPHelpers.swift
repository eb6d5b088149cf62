import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SluiceEdge
import SluiceTesting
import Testing

/// Request bodies, headers and response checks shared by the edge tests.
enum HTTP {
    /// A chat completion body.
    static func chat(
        model: String = "echo",
        text: String = "hello big world",
        stream: Bool? = nil,
        _ extra: [String: Any] = [:]
    ) -> ByteBuffer {
        ByteBuffer(bytes: TestJSON.chat(model: model, text: text, stream: stream, extra))
    }

    /// Any JSON value as a body.
    static func json(_ value: Any) -> ByteBuffer {
        ByteBuffer(bytes: TestJSON.encode(value))
    }

    /// Headers with a bearer key and a JSON content type.
    static func headers(key: String?, _ extra: [HTTPField.Name: String] = [:]) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        for (name, value) in extra { headers[name] = value }
        return headers
    }

    /// The response body as a JSON object.
    static func object(_ response: TestResponse) throws -> [String: Any] {
        try TestJSON.object(String(buffer: response.body))
    }

    /// Parses one SSE payload as a JSON object.
    static func object(_ payload: String) throws -> [String: Any] {
        try TestJSON.object(payload)
    }

    /// Checks that a response is an OpenAI error object with the given status, type, code and param.
    ///
    /// - Returns: The `error` object.
    @discardableResult
    static func expectError(
        _ response: TestResponse,
        status: HTTPResponse.Status,
        type: String,
        code: String,
        param: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        #expect(response.status == status, "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        #expect(response.headers[EdgeHeaders.requestID]?.isEmpty == false, sourceLocation: sourceLocation)
        return try expectErrorObject(
            try object(response),
            type: type,
            code: code,
            param: param,
            sourceLocation: sourceLocation
        )
    }

    /// Checks the shape `{"error": {"message", "type", "param", "code"}}`.
    ///
    /// - Returns: The `error` object.
    @discardableResult
    static func expectErrorObject(
        _ body: [String: Any],
        type: String,
        code: String,
        param: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        #expect(Set(body.keys) == ["error"], sourceLocation: sourceLocation)
        let error = try #require(body["error"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(Set(error.keys) == ["message", "type", "param", "code"], sourceLocation: sourceLocation)
        #expect((error["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error["type"] as? String == type, sourceLocation: sourceLocation)
        #expect(error["code"] as? String == code, sourceLocation: sourceLocation)
        if let param {
            #expect(error["param"] as? String == param, sourceLocation: sourceLocation)
        } else {
            #expect(
                error["param"] is NSNull,
                "param: \(String(describing: error["param"]))",
                sourceLocation: sourceLocation
            )
        }
        return error
    }
}

extension TestClientProtocol {
    /// Sends `POST /v1/chat/completions` with a body and headers, as an OpenAI SDK would.
    func postChat(_ body: ByteBuffer, headers: HTTPFields) async throws -> TestResponse {
        try await execute(uri: "/v1/chat/completions", method: .post, headers: headers, body: body)
    }
}
