/// A typed value in a point's payload.
package enum PayloadValue: Sendable, Hashable {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int64)
    /// A float.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// A list of strings (tags); a match on a list matches any element.
    case stringList([String])

    /// The number, when the value is an int or a double.
    package var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// Whether this stored value matches a filter value: strings exactly, numbers numerically across int and double,
    /// booleans exactly, and a stored string list when it contains the string.
    ///
    /// - Parameter probe: The filter's value (never a string list).
    /// - Returns: `true` on a match.
    package func matches(_ probe: PayloadValue) -> Bool {
        switch (self, probe) {
        case (.string(let stored), .string(let wanted)): stored == wanted
        case (.stringList(let stored), .string(let wanted)): stored.contains(wanted)
        case (.bool(let stored), .bool(let wanted)): stored == wanted
        case (.int(let stored), .int(let wanted)): stored == wanted
        case (.int, .double), (.double, .int), (.double, .double): number == probe.number
        default: false
        }
    }

    /// Approximate bytes held, for memory accounting.
    var approximateBytes: Int {
        switch self {
        case .string(let value): 16 + (value.utf8.count > 15 ? value.utf8.count : 0)
        case .stringList(let values): 16 + values.reduce(0) { $0 + 16 + ($1.utf8.count > 15 ? $1.utf8.count : 0) }
        case .int, .double, .bool: 9
        }
    }
}

/// A point's payload: keys to typed values.
package typealias Payload = [String: PayloadValue]

/// A point: id, vector and payload.
package struct VectorPoint: Sendable, Hashable {
    /// Caller-chosen id, unique within the collection.
    package var id: String
    /// The vector (as given; cosine collections store it normalized).
    package var vector: [Float]
    /// The payload.
    package var payload: Payload

    /// Creates a point.
    ///
    /// - Parameters:
    ///   - id: The id.
    ///   - vector: The vector.
    ///   - payload: The payload.
    package init(id: String, vector: [Float], payload: Payload = [:]) {
        self.id = id
        self.vector = vector
        self.payload = payload
    }
}
