package import Foundation

/// JSON request bodies and response parsing shared by the edge and server tests.
package enum TestJSON {
    /// A body that is not what the test expected.
    package struct NotAnObject: Error, CustomStringConvertible {
        /// The text that did not parse as a JSON object.
        package var text: String
        /// A readable form.
        package var description: String { "not a JSON object: \(text)" }
    }

    /// A chat completion request body.
    ///
    /// - Parameters:
    ///   - model: The model.
    ///   - text: The user message.
    ///   - stream: The `stream` member, when set.
    ///   - extra: More members.
    /// - Returns: The JSON bytes, keys sorted.
    package static func chat(
        model: String = "echo",
        text: String = "hello big world",
        stream: Bool? = nil,
        _ extra: [String: Any] = [:]
    ) -> [UInt8] {
        var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": text]]]
        if let stream { body["stream"] = stream }
        for (key, value) in extra { body[key] = value }
        return encode(body)
    }

    /// Any JSON value, keys sorted so that bodies are deterministic.
    ///
    /// - Parameter value: A JSON-compatible value.
    /// - Returns: The JSON bytes.
    package static func encode(_ value: Any) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]))
    }

    /// Parses text as a JSON object.
    ///
    /// - Parameter text: The text.
    /// - Returns: The object.
    /// - Throws: ``NotAnObject`` when the text is not a JSON object.
    package static func object(_ text: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NotAnObject(text: text)
        }
        return object
    }
}
