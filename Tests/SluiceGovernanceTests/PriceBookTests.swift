import Foundation
import GRDB
import Logging
import SluiceGovernance
import Testing

@Suite("Price book")
struct PriceBookTests {
    private static func day(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)!
    }

    private static func book(_ json: String) throws -> PriceBook {
        try PriceBook.decode(Data(json.utf8))
    }

    @Test("the built-in book reads, prices echo at nothing and the example catalog's models")
    func builtIn() throws {
        // When the shipped book is read
        let book = try PriceBook.builtIn()

        // Then it has a version and prices for the models of the default and example catalogs
        #expect(!book.version.isEmpty)
        let now = Date()
        #expect(book.price(for: "echo", at: now) == PriceBook.Price(input: 0, output: 0))
        #expect(book.price(for: "gpt-4o-mini", at: now)?.output == 600_000)
        #expect(book.price(for: "claude-3-5-haiku-latest", at: now)?.input == 800_000)
        #expect(book.price(for: "claude-sonnet-4-5", at: now)?.input == 3_000_000)
        #expect(book.price(for: "llama3.1:8b", at: now) == nil)
    }

    @Test("an exact name wins over a pattern, a longer pattern over a shorter one, then the latest price in effect")
    func precedence() throws {
        // Given entries that compete for the same names, one not in effect yet
        let book = try Self.book(
            """
            {"version": "t", "prices": [
              {"model": "gpt-*", "effective_from": "2024-01-01", "input": 1, "output": 1},
              {"model": "gpt-4o*", "effective_from": "2024-01-01", "input": 2, "output": 2},
              {"model": "gpt-4o", "effective_from": "2024-01-01", "input": 3, "output": 3},
              {"model": "gpt-4o", "effective_from": "2025-01-01", "input": 4, "output": 4},
              {"model": "gpt-4o", "effective_from": "2099-01-01", "input": 5, "output": 5}
            ]}
            """
        )
        let now = Self.day("2026-06-01")

        // Then each name gets the most specific entry, and the latest one already in effect
        #expect(book.price(for: "gpt-4o", at: now)?.input == 4)
        #expect(book.price(for: "gpt-4o", at: Self.day("2024-06-01"))?.input == 3)
        #expect(book.price(for: "gpt-4o-mini", at: now)?.input == 2)
        #expect(book.price(for: "gpt-3.5-turbo", at: now)?.input == 1)
        #expect(book.price(for: "claude", at: now) == nil)
        #expect(book.price(for: "gpt-4o", at: Self.day("2023-01-01")) == nil)
    }

    @Test("a cost rounds each kind of token up to the next micro-dollar and prices cached prompt tokens apart")
    func cost() {
        // Given $2.50 / $10 / $1.25 per million tokens
        let price = PriceBook.Price(input: 2_500_000, output: 10_000_000, cachedInput: 1_250_000)

        // Then a call costs what its tokens cost, never less
        #expect(price.cost(promptTokens: 1_000_000, completionTokens: 1_000_000) == 12_500_000)
        #expect(price.cost(promptTokens: 1, completionTokens: 0) == 3)  // 2.5 µ$ rounds up
        #expect(price.cost(promptTokens: 1_000, completionTokens: 100, cachedPromptTokens: 400) == 1_500 + 500 + 1_000)
        #expect(price.cost(promptTokens: 0, completionTokens: 0) == 0)
        // And a cached price absent means the input price
        #expect(PriceBook.Price(input: 7, output: 1).cachedInput == 7)
    }

    @Test(
        "a broken book is refused, naming the entry",
        arguments: [
            (#"{"prices": []}"#, "not valid"),
            (#"{"version": "", "prices": []}"#, "no version"),
            (
                #"{"version": "v", "prices": [{"model": "", "effective_from": "2024-01-01", "input": 1, "output": 1}]}"#,
                "has no model"
            ),
            (
                #"{"version": "v", "prices": [{"model": "m", "effective_from": "01/02/2024", "input": 1, "output": 1}]}"#,
                "prices[0] (m): effective_from"
            ),
            (
                #"{"version": "v", "prices": [{"model": "m", "effective_from": "2024-01-01", "input": -1, "output": 1}]}"#,
                "must not be negative"
            ),
            (
                #"{"version": "v", "prices": [{"model": "m", "effective_from": "2024-01-01", "input": 1, "output": 1},"#
                    + #"{"model": "m", "effective_from": "2024-01-01", "input": 2, "output": 2}]}"#,
                "prices[1] (m): a second price"
            ),
        ]
    )
    func refusesBrokenBooks(json: String, message: String) {
        // When a broken book is read, then it is refused with a message naming the problem
        #expect {
            try Self.book(json)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("the ledger keeps each record's cost, whether it is exact, and the book's version", .timeLimit(.minutes(1)))
    func ledgerCosts() async throws {
        // Given governance with a book pricing `fixed` at 1 µ$ per prompt token and 2 per completion token
        let store = try GovernanceStore(writer: DatabaseQueue())
        let book = try Self.book(
            #"{"version": "b-7", "prices": [{"model": "fixed", "effective_from": "2024-01-01", "input": 1000000, "output": 2000000}]}"#
        )
        let governance = LocalGovernanceService(store: store, logger: Logger(label: "test"), prices: book)
        let principal = Principal(tenantID: "ten_1", tenantName: "acme", keyID: "k1", roles: [.member])
        func record(_ id: String, upstream: String, estimated: Bool) -> UsageRecord {
            UsageRecord(
                requestID: id,
                principal: principal,
                model: "public",
                provider: "p",
                upstreamModel: upstream,
                promptTokens: 10,
                completionTokens: 5,
                isEstimated: estimated,
                latencyMilliseconds: 1,
                outcome: "ok"
            )
        }

        // When an exact, an estimated and an unpriced call are recorded, and the first again
        let first = try await governance.recordUsage(record("r1", upstream: "fixed", estimated: false))
        try await governance.recordUsage(batch: [
            record("r2", upstream: "fixed", estimated: true), record("r3", upstream: "other", estimated: false),
        ])
        let again = try await governance.recordUsage(record("r1", upstream: "fixed", estimated: false))

        // Then each row carries its cost, its exactness and the version; a repeat charges nothing
        #expect(first == UsageReceipt(recorded: true, costMicros: 20))
        #expect(again == UsageReceipt(recorded: false, costMicros: 0))
        let rows = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT request_id, cost_micros, cost_exact, price_book_version FROM usage_ledger ORDER BY id"
            )
        }
        let values = rows.map { row -> [String] in
            [
                row["request_id"], String(row["cost_micros"] as Int64), String(row["cost_exact"] as Bool),
                row["price_book_version"],
            ]
        }
        #expect(values == [["r1", "20", "true", "b-7"], ["r2", "20", "false", "b-7"], ["r3", "0", "false", "b-7"]])
    }
}
