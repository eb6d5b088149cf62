/// An incremental parser of `text/event-stream` bodies, fed with chunks as they arrive.
///
/// It follows the WHATWG rules that providers rely on: lines end with LF, CRLF or CR; `event:` and `data:`
/// fields (one optional space after the colon); several `data:` lines join with LF; a blank line dispatches;
/// comments (`:`) are ignored.
struct ServerSentEventParser {
    /// One dispatched event.
    struct Event: Sendable, Hashable {
        var name: String?
        var data: String
    }

    private var line: [UInt8] = []
    private var name: String?
    private var data: [String] = []
    private var hasData = false
    private var lastWasCR = false

    /// Feeds bytes and returns the events they complete.
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                name = nil
                data.removeAll()
                hasData = false
            }
            guard hasData else { return nil }
            return Event(name: name, data: data.joined(separator: "\n"))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? line.index(after: colon) : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "event": name = value
        case "data":
            data.append(value)
            hasData = true
        default: break
        }
        return nil
    }
}
