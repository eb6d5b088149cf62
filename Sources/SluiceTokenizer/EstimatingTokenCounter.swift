/// A rough token counter for encodings Sluice has no ranks for; every count it returns is flagged as estimated.
///
/// The rule, over the Unicode scalars of the text:
///
/// - Each CJK ideograph (U+2E80–U+2FDF, U+3400–U+4DBF, U+4E00–U+9FFF, U+F900–U+FAFF, U+20000–U+3FFFF), kana
///   (U+3040–U+30FF, U+31F0–U+31FF, U+FF66–U+FF9F) or Hangul scalar (U+1100–U+11FF, U+3130–U+318F,
///   U+AC00–U+D7AF) counts as one token.
/// - Each pictograph or emoji scalar (U+2600–U+27BF, U+1F000–U+1FAFF, which includes skin tones and flag letters)
///   counts as two tokens.
/// - All other scalars are pooled by weight: one per byte of ASCII, two per UTF-8 byte of anything else (accents,
///   Cyrillic, Devanagari, joiners, variation selectors). The pool counts one token per 4 weight, rounded up.
/// - So a non-empty text counts at least one token.
///
/// Measured against cl100k_base: English prose and code 1.0–1.3×, CJK 1.0–1.1×, French, Greek, Cyrillic and
/// Devanagari 1.0–1.4×, emoji ZWJ sequences about 0.75×. It leans high on purpose, which suits budgets and rate
/// limits; never bill with it.
///
/// ```swift
/// let counter = EstimatingTokenCounter()
/// counter.count("Hello, world!")  // TokenCount(tokens: 4, isEstimated: true): weight 13 / 4, rounded up
/// counter.count("你好")            // TokenCount(tokens: 2, isEstimated: true)
/// ```
package struct EstimatingTokenCounter: TokenCounter {
    /// Pooled weight per estimated token.
    package static let weightPerToken = 4

    /// Creates the estimator.
    package init() {}

    /// Estimates the tokens of `text` with the rule above.
    ///
    /// - Parameters:
    ///   - text: The text to count.
    /// - Returns: The estimate; ``TokenCount/isEstimated`` is `true`.
    package func count(_ text: String) -> TokenCount {
        var tokens = 0
        var pooledWeight = 0
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0..<0x80:
                pooledWeight += 1
            case 0x1100...0x11FF, 0x2E80...0x2FDF, 0x3040...0x30FF, 0x3130...0x318F, 0x31F0...0x31FF,
                0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0xFF66...0xFF9F,
                0x2_0000...0x3_FFFF:
                tokens += 1
            case 0x2600...0x27BF, 0x1_F000...0x1_FAFF:
                tokens += 2
            default:
                pooledWeight += 2 * UTF8.width(scalar)
            }
        }
        tokens += (pooledWeight + Self.weightPerToken - 1) / Self.weightPerToken
        return TokenCount(tokens: tokens, isEstimated: true)
    }
}
