/// A function the model may call.
///
/// The parameters are kept as the JSON Schema text the client sent, so they pass through to providers unchanged.
package struct ToolDefinition: Sendable, Hashable {
    /// The function name.
    package var name: String
    /// What the function does, for the model.
    package var description: String?
    /// The JSON Schema of the arguments, as JSON text; `nil` when the function takes none.
    package var parametersJSON: String?
    /// Whether the provider must follow the schema exactly (OpenAI structured outputs).
    package var strict: Bool?

    /// Creates a tool definition.
    ///
    /// - Parameters:
    ///   - name: The function name.
    ///   - description: What the function does.
    ///   - parametersJSON: The JSON Schema of the arguments as JSON text.
    ///   - strict: Whether the schema must be followed exactly.
    package init(name: String, description: String? = nil, parametersJSON: String? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parametersJSON = parametersJSON
        self.strict = strict
    }
}

/// How the model may use the tools it was given.
package enum ToolChoice: Sendable, Hashable {
    /// The model must not call a tool.
    case none
    /// The model decides.
    case auto
    /// The model must call at least one tool.
    case required
    /// The model must call the named function.
    case function(String)
}

/// A call of a function that the model asked for.
package struct ToolCall: Sendable, Hashable {
    /// The call id, echoed by the tool message that answers it.
    package var id: String
    /// The function name.
    package var name: String
    /// The arguments as JSON text, exactly as the model produced them.
    package var arguments: String

    /// Creates a tool call.
    ///
    /// - Parameters:
    ///   - id: The call id.
    ///   - name: The function name.
    ///   - arguments: The arguments as JSON text.
    package init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A fragment of a tool call in a stream.
///
/// The first fragment of a call carries its `id` and `name`; later ones carry pieces of `arguments` that the
/// client concatenates, keyed by `index`.
package struct ToolCallDelta: Sendable, Hashable {
    /// The position of the call among the calls of this response.
    package var index: Int
    /// The call id, on the first fragment.
    package var id: String?
    /// The function name, on the first fragment.
    package var name: String?
    /// A piece of the arguments JSON text.
    package var arguments: String?

    /// Creates a tool-call fragment.
    ///
    /// - Parameters:
    ///   - index: The position of the call among the calls of this response.
    ///   - id: The call id, on the first fragment.
    ///   - name: The function name, on the first fragment.
    ///   - arguments: A piece of the arguments JSON text.
    package init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
