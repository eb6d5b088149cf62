package import Foundation

/// Finds tokenizers in Sluice's data directory and picks a counter for an encoding.
///
/// Ranks files are not committed; `scripts/fetch-tokenizer.sh` installs them under `<data directory>/tokenizers/`.
///
/// Configuration keys:
/// - `SLUICE_DATA_DIR`: the data directory that callers pass as `dataDirectory` (default `./.sluice`).
///
/// ```swift
/// let dataDirectory = URL(filePath: environment["SLUICE_DATA_DIR"] ?? ".sluice", directoryHint: .isDirectory)
/// let cl100k = try TokenizerStore.cl100k(dataDirectory: dataDirectory)
/// let counter = TokenizerStore.counter(forEncoding: "o200k_base", cl100k: cl100k)  // EstimatingTokenCounter
/// ```
package enum TokenizerStore {
    /// Where the cl100k_base ranks file lives, relative to the data directory.
    package static let cl100kRelativePath = "tokenizers/cl100k_base.tiktoken"

    /// The location of the cl100k_base ranks file in a data directory.
    ///
    /// - Parameters:
    ///   - dataDirectory: Sluice's data directory.
    package static func cl100kFileURL(dataDirectory: URL) -> URL {
        dataDirectory.appending(path: cl100kRelativePath, directoryHint: .notDirectory)
    }

    /// Loads and verifies cl100k_base from the data directory.
    ///
    /// - Parameters:
    ///   - dataDirectory: Sluice's data directory.
    /// - Throws: ``TokenizerError``; when the file is missing, with code ``TokenizerError/Code/fileNotFound`` and a
    ///   message telling the operator to run `scripts/fetch-tokenizer.sh`.
    package static func cl100k(dataDirectory: URL) throws(TokenizerError) -> BPEEncoding {
        let url = cl100kFileURL(dataDirectory: dataDirectory)
        do {
            return try BPEEncoding.load(from: url)
        } catch let error where error.code == .fileNotFound {
            throw TokenizerError(
                code: .fileNotFound,
                message: "the cl100k_base ranks file is missing at \(url.path); "
                    + "run `scripts/fetch-tokenizer.sh \(dataDirectory.path)` to install it",
                cause: error.cause
            )
        }
    }

    /// The counter to use for an encoding: exact for cl100k_base when it is loaded, estimated otherwise.
    ///
    /// - Parameters:
    ///   - encodingName: A tiktoken encoding name, such as `cl100k_base` or `o200k_base`.
    ///   - cl100k: The loaded cl100k_base encoding, or `nil` if it is not available.
    /// - Returns: `cl100k` for `cl100k_base`, else an ``EstimatingTokenCounter``.
    package static func counter(forEncoding encodingName: String, cl100k: BPEEncoding?) -> any TokenCounter {
        if encodingName == "cl100k_base", let cl100k {
            return cl100k
        }
        return EstimatingTokenCounter()
    }
}
