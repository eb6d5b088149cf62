/// A boolean filter over payloads.
///
/// A point matches when every `must` condition matches, at least one `should` condition matches (if there are any),
/// and no `must_not` condition matches. An empty filter matches every point. A condition on a key the point lacks
/// does not match.
///
/// ```swift
/// let filter = VectorFilter(
///     must: [.match(key: "lang", value: .string("en"))],
///     mustNot: [.range(key: "year", .init(lessThan: 2000))]
/// )
/// ```
package struct VectorFilter: Sendable, Hashable {
    /// All must match.
    package var must: [Condition]
    /// At least one must match, when non-empty.
    package var should: [Condition]
    /// None may match.
    package var mustNot: [Condition]

    /// Creates a filter.
    ///
    /// - Parameters:
    ///   - must: All must match.
    ///   - should: At least one must match, when non-empty.
    ///   - mustNot: None may match.
    package init(must: [Condition] = [], should: [Condition] = [], mustNot: [Condition] = []) {
        self.must = must
        self.should = should
        self.mustNot = mustNot
    }

    /// Whether the filter has no conditions (matches everything).
    package var isEmpty: Bool { must.isEmpty && should.isEmpty && mustNot.isEmpty }

    /// Whether a payload matches.
    ///
    /// - Parameter payload: The payload.
    /// - Returns: `true` on a match.
    package func matches(_ payload: Payload) -> Bool {
        for condition in must where !condition.matches(payload) { return false }
        for condition in mustNot where condition.matches(payload) { return false }
        if should.isEmpty { return true }
        return should.contains { $0.matches(payload) }
    }

    /// One condition.
    package indirect enum Condition: Sendable, Hashable {
        /// The value at `key` matches `value` (see ``PayloadValue/matches(_:)``).
        case match(key: String, value: PayloadValue)
        /// The value at `key` matches one of `values`.
        case anyOf(key: String, values: [PayloadValue])
        /// The value at `key` is a number within the bounds.
        case range(key: String, NumericRange)
        /// A nested filter.
        case filter(VectorFilter)

        /// Whether a payload matches.
        ///
        /// - Parameter payload: The payload.
        /// - Returns: `true` on a match.
        package func matches(_ payload: Payload) -> Bool {
            switch self {
            case .match(let key, let value):
                payload[key]?.matches(value) ?? false
            case .anyOf(let key, let values):
                payload[key].map { stored in values.contains { stored.matches($0) } } ?? false
            case .range(let key, let range):
                payload[key]?.number.map(range.contains) ?? false
            case .filter(let filter):
                filter.matches(payload)
            }
        }
    }

    /// Numeric bounds; at least one is set.
    package struct NumericRange: Sendable, Hashable {
        /// Greater than.
        package var greaterThan: Double?
        /// Greater than or equal.
        package var greaterThanOrEqual: Double?
        /// Less than.
        package var lessThan: Double?
        /// Less than or equal.
        package var lessThanOrEqual: Double?

        /// Creates bounds.
        ///
        /// - Parameters:
        ///   - greaterThan: Greater than.
        ///   - greaterThanOrEqual: Greater than or equal.
        ///   - lessThan: Less than.
        ///   - lessThanOrEqual: Less than or equal.
        package init(
            greaterThan: Double? = nil,
            greaterThanOrEqual: Double? = nil,
            lessThan: Double? = nil,
            lessThanOrEqual: Double? = nil
        ) {
            self.greaterThan = greaterThan
            self.greaterThanOrEqual = greaterThanOrEqual
            self.lessThan = lessThan
            self.lessThanOrEqual = lessThanOrEqual
        }

        /// Whether no bound is set.
        package var isUnbounded: Bool {
            greaterThan == nil && greaterThanOrEqual == nil && lessThan == nil && lessThanOrEqual == nil
        }

        /// Whether a number is within every bound.
        ///
        /// - Parameter number: The number.
        /// - Returns: `true` if it is.
        package func contains(_ number: Double) -> Bool {
            if let bound = greaterThan, !(number > bound) { return false }
            if let bound = greaterThanOrEqual, !(number >= bound) { return false }
            if let bound = lessThan, !(number < bound) { return false }
            if let bound = lessThanOrEqual, !(number <= bound) { return false }
            return true
        }
    }
}
