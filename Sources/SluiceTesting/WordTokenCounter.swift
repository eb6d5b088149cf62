package import SluiceInference
package import SluiceTokenizer

/// An exact token counter for tests: one token per run of non-white-space characters.
///
/// It makes counts easy to work out by hand: `"hello big world"` is 3 tokens. Its counts are not flagged as
/// estimated, so a test can tell them apart from the estimator's.
///
/// ```swift
/// let tokens = PromptTokenCounter.words   // exact for cl100k_base models such as `gpt-4` and `echo`
/// ```
package struct WordTokenCounter: TokenCounter {
    /// Creates the counter.
    package init() {}

    /// Counts one token per white-space separated word, exactly.
    package func count(_ text: String) -> TokenCount {
        var tokens = 0
        var inWord = false
        for character in text {
            if character.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                tokens += 1
            }
        }
        return TokenCount(tokens: tokens, isEstimated: false)
    }
}

extension PromptTokenCounter {
    /// A prompt counter whose cl100k_base stand-in is ``WordTokenCounter``; other models get the estimator.
    package static var words: PromptTokenCounter {
        PromptTokenCounter(cl100k: WordTokenCounter())
    }
}
