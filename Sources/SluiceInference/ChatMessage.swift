/// One message of a chat conversation, in Sluice's provider-neutral shape.
///
/// Providers translate to and from their own wire shapes; the edge translates the OpenAI shape onto this one.
///
/// ```swift
/// let message = ChatMessage(role: .user, text: "What is the capital of France?")
/// ```
package struct ChatMessage: Sendable, Hashable {
    /// Who wrote the message.
    package var role: Role
    /// The message content; text parts and image references in order.
    package var content: [ContentPart]
    /// An optional participant name.
    package var name: String?
    /// Tool calls the assistant asked for (assistant messages only).
    package var toolCalls: [ToolCall]
    /// The tool call this message answers (tool messages only).
    package var toolCallID: String?

    /// Creates a message.
    ///
    /// - Parameters:
    ///   - role: Who wrote the message.
    ///   - content: Content parts in order.
    ///   - name: An optional participant name.
    ///   - toolCalls: Tool calls requested by an assistant message.
    ///   - toolCallID: For a tool message, the id of the call it answers.
    package init(
        role: Role,
        content: [ContentPart],
        name: String? = nil,
        toolCalls: [ToolCall] = [],
        toolCallID: String? = nil
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    /// Creates a message holding a single text part.
    ///
    /// - Parameters:
    ///   - role: Who wrote the message.
    ///   - text: The text of the message.
    package init(role: Role, text: String) {
        self.init(role: role, content: [.text(text)])
    }

    /// The concatenated text of all text parts.
    package var text: String {
        var result = ""
        for case .text(let part) in content {
            result += part
        }
        return result
    }
}

extension ChatMessage {
    /// The author of a message.
    package enum Role: String, Sendable, Hashable, CaseIterable {
        /// Instructions from the application.
        case system
        /// Instructions from the developer (OpenAI's newer name for system).
        case developer
        /// The end user.
        case user
        /// The model.
        case assistant
        /// The result of a tool call.
        case tool
    }

    /// One part of a message's content.
    package enum ContentPart: Sendable, Hashable {
        /// Plain text.
        case text(String)
        /// An image, by URL or `data:` URL, with an optional detail hint (`low`, `high`, `auto`).
        case imageURL(url: String, detail: String?)
    }
}
