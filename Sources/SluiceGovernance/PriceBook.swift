package import Foundation

/// Per-model prices with effective dates: what governance charges a call.
///
/// A book is a versioned JSON document (`Resources/price-book.json` is the one Sluice ships; `price_book_file` in
/// the configuration replaces it). Each entry prices one model name, or the names a pattern with `*` wildcards
/// matches, from a UTC date on, in micro-dollars per million tokens: input (prompt), output (completion) and cached
/// input (prompt tokens served from the provider's cache; the input price when absent).
///
/// For a model and a moment, the entries that match and are in effect compete: an exact name wins over a pattern,
/// a longer pattern over a shorter one, then the latest `effective_from`. A call is priced by the upstream model that
/// served it (the public name when no upstream served it), at the moment it is recorded.
///
/// ```swift
/// let book = try PriceBook.builtIn()
/// let cost = book.price(for: "gpt-4o-mini", at: .now)?.cost(promptTokens: 1_000, completionTokens: 200)
/// ```
package struct PriceBook: Sendable, Hashable {
    /// The book's version, recorded with every cost it priced.
    package let version: String
    /// The entries, in file order.
    package let entries: [Entry]

    /// One price of one model (or pattern) from a date on.
    package struct Entry: Sendable, Hashable {
        /// A model name, or a pattern with `*` wildcards.
        package var model: String
        /// The first UTC day the price applies.
        package var effectiveFrom: Date
        /// The price.
        package var price: Price
    }

    /// Micro-dollars per million tokens.
    package struct Price: Sendable, Hashable {
        /// Per million prompt tokens.
        package var input: Int64
        /// Per million completion tokens.
        package var output: Int64
        /// Per million prompt tokens served from the provider's cache.
        package var cachedInput: Int64

        /// Creates a price.
        package init(input: Int64, output: Int64, cachedInput: Int64? = nil) {
            self.input = input
            self.output = output
            self.cachedInput = cachedInput ?? input
        }

        /// The cost of a call, in micro-dollars, each kind of token rounded up to the next micro-dollar so that a
        /// call is never charged less than it cost.
        ///
        /// - Parameters:
        ///   - promptTokens: Prompt tokens, cached ones included.
        ///   - completionTokens: Completion tokens.
        ///   - cachedPromptTokens: The prompt tokens served from the provider's cache.
        /// - Returns: The cost.
        package func cost(promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int = 0) -> Int64 {
            let cached = Int64(min(max(cachedPromptTokens, 0), max(promptTokens, 0)))
            let uncached = Int64(max(promptTokens, 0)) - cached
            return Self.charge(uncached, input) + Self.charge(cached, cachedInput)
                + Self.charge(Int64(max(completionTokens, 0)), output)
        }

        private static func charge(_ tokens: Int64, _ perMillion: Int64) -> Int64 {
            let (product, overflow) = tokens.multipliedReportingOverflow(by: perMillion)
            guard !overflow else { return Int64.max / 4 }
            return (product + 999_999) / 1_000_000
        }
    }

    /// Creates a book.
    ///
    /// - Parameters:
    ///   - version: The version recorded with its costs.
    ///   - entries: The entries.
    package init(version: String, entries: [Entry]) {
        self.version = version
        self.entries = entries
    }

    /// A book with no prices: every cost is unknown.
    package static let empty = PriceBook(version: "none", entries: [])

    /// The price of `model` at `moment`, or `nil` when no entry in effect matches it.
    package func price(for model: String, at moment: Date) -> Price? {
        var best: (rank: (Int, Int, Date), price: Price)?
        for entry in entries where entry.effectiveFrom <= moment {
            let exact = entry.model == model
            guard exact || (entry.model.contains("*") && Authorization.matches(model, pattern: entry.model)) else {
                continue
            }
            let rank = (exact ? 1 : 0, entry.model.count, entry.effectiveFrom)
            if let current = best, !(rank > current.rank) { continue }
            best = (rank, entry.price)
        }
        return best?.price
    }
}

// MARK: - JSON

extension PriceBook {
    /// A price book file that cannot be used.
    package struct FileError: Error, CustomStringConvertible {
        /// What is wrong, naming the entry.
        package var description: String

        /// Creates an error.
        package init(description: String) {
            self.description = description
        }
    }

    /// The book Sluice ships, with prices for the models of the default and example catalogs.
    package static func builtIn() throws -> PriceBook {
        try decode(Data(PackageResources.price_book_json))
    }

    /// Reads a book from JSON: `{"version": "…", "prices": [{"model", "effective_from": "YYYY-MM-DD", "input",
    /// "output", "cached_input"?}]}`, prices in micro-dollars per million tokens.
    ///
    /// - Throws: ``FileError`` naming the first problem: a missing version, an empty or duplicated model and date, a
    ///   malformed date, a negative price.
    package static func decode(_ data: Data) throws -> PriceBook {
        struct File: Decodable {
            var version: String
            var prices: [Row]
        }
        struct Row: Decodable {
            var model: String
            var effectiveFrom: String
            var input: Int64
            var output: Int64
            var cachedInput: Int64?

            enum CodingKeys: String, CodingKey {
                case model, input, output
                case effectiveFrom = "effective_from"
                case cachedInput = "cached_input"
            }
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw FileError(description: "the price book is not valid: \(error)")
        }
        guard !file.version.isEmpty else { throw FileError(description: "the price book has no version") }
        let days = DateFormatter()
        days.locale = Locale(identifier: "en_US_POSIX")
        days.timeZone = TimeZone(identifier: "UTC")
        days.dateFormat = "yyyy-MM-dd"
        var seen = Set<String>()
        var entries: [Entry] = []
        for (index, row) in file.prices.enumerated() {
            let name = "prices[\(index)] (\(row.model))"
            guard !row.model.isEmpty else { throw FileError(description: "prices[\(index)] has no model") }
            guard let day = days.date(from: row.effectiveFrom) else {
                throw FileError(description: "\(name): effective_from must be a date like 2025-01-31")
            }
            guard row.input >= 0, row.output >= 0, (row.cachedInput ?? 0) >= 0 else {
                throw FileError(description: "\(name): prices must not be negative")
            }
            guard seen.insert("\(row.model)@\(row.effectiveFrom)").inserted else {
                throw FileError(description: "\(name): a second price for the same model and effective_from")
            }
            entries.append(
                Entry(
                    model: row.model,
                    effectiveFrom: day,
                    price: Price(input: row.input, output: row.output, cachedInput: row.cachedInput)
                )
            )
        }
        return PriceBook(version: file.version, entries: entries)
    }
}
