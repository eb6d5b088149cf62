import SluiceTokenizer
import Testing

@Suite("Estimating token counter")
struct EstimatingTokenCounterTests {
    @Test(
        "applies the documented rule",
        arguments: [
            ("", 0),
            (" ", 1),
            ("abcd", 1),
            ("abcde", 2),
            ("Hello, world!", 4),
            ("你好", 2),
            ("こんにちは", 5),
            ("한국어", 3),
            ("👍", 2),
            ("👍🏽", 4),
            ("ab中cd", 2),
            ("é", 1),
            ("\u{200D}", 2),
            ("привет", 6),
        ]
    )
    func estimates(text: String, expected: Int) {
        // Given the estimator
        let counter = EstimatingTokenCounter()

        // When it counts a text
        let count = counter.count(text)

        // Then the count follows the rule and is flagged
        #expect(count == TokenCount(tokens: expected, isEstimated: true))
    }

    @Test("falls back to the estimator for other encodings")
    func storeFallsBack() {
        // Given no cl100k_base encoding

        // When a counter is asked for any encoding
        let counters = ["cl100k_base", "o200k_base", "p50k_base"].map {
            TokenizerStore.counter(forEncoding: $0, cl100k: nil)
        }

        // Then every count is estimated
        #expect(counters.allSatisfy { $0.count("hello").isEstimated })
    }
}
