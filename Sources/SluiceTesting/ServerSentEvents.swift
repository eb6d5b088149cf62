import Foundation

/// Splits a `text/event-stream` body into the `data:` payloads of its events, in order.
///
/// ```swift
/// ServerSentEvents.data(in: "data: {\"a\":1}\n\ndata: [DONE]\n\n")  // ["{\"a\":1}", "[DONE]"]
/// ```
package enum ServerSentEvents {
    /// The `data:` payload of each event, multi-line payloads joined with `\n`.
    ///
    /// - Parameter body: The whole event-stream body.
    /// - Returns: One string per event that has data.
    package static func data(in body: String) -> [String] {
        let normalized = body.replacingOccurrences(of: "\r\n", with: "\n")
        var events: [String] = []
        for block in normalized.components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line -> String? in
                guard line.hasPrefix("data:") else { return nil }
                let value = line.dropFirst(5)
                return String(value.first == " " ? value.dropFirst() : value)
            }
            if !lines.isEmpty { events.append(lines.joined(separator: "\n")) }
        }
        return events
    }
}
