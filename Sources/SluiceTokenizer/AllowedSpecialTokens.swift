/// Which special tokens ``BPEEncoding/encode(_:allowedSpecial:)`` turns into their ids.
///
/// Special-token text that is not allowed is encoded as ordinary text, like tiktoken's
/// `encode(text, allowed_special=…, disallowed_special=())`.
///
/// ```swift
/// encoding.encode("a<|endoftext|>", allowedSpecial: .all)                     // [64, 100257]
/// encoding.encode("a<|endoftext|>", allowedSpecial: .only(["<|fim_prefix|>"])) // [64, 27, 91, 8862, 728, 428, 91, 29]
/// ```
package struct AllowedSpecialTokens: Hashable, Sendable {
    private enum Storage: Hashable, Sendable {
        case all
        case only(Set<String>)
    }

    private let storage: Storage

    private init(_ storage: Storage) {
        self.storage = storage
    }

    /// Every special token of the encoding.
    package static let all = Self(.all)

    /// No special token: the same as ``BPEEncoding/encodeOrdinary(_:)``.
    package static let none = Self(.only([]))

    /// The special tokens with these texts, such as `"<|endoftext|>"`.
    ///
    /// - Parameters:
    ///   - texts: The special tokens' texts; texts that are not special tokens are ignored.
    package static func only(_ texts: Set<String>) -> Self {
        Self(.only(texts))
    }

    /// Whether the special token with this text is allowed.
    ///
    /// - Parameters:
    ///   - text: A special token's text.
    package func contains(_ text: String) -> Bool {
        switch storage {
        case .all: true
        case .only(let texts): texts.contains(text)
        }
    }
}
