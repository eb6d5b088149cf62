import Foundation
import SluiceEdge
package import SluiceGovernance
import SluiceInference
import SluiceVector

extension SluiceConfiguration {
    /// A configuration that cannot be used, with every problem found.
    package struct Invalid: Error, CustomStringConvertible {
        /// The problems, each naming the offending key.
        package var problems: [String]
        /// A readable form, for logs and error messages.
        package var description: String {
            "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    /// Loads the configuration: defaults, then the file, then the environment.
    ///
    /// - Parameters:
    ///   - path: The file, or `nil` to use `SLUICE_CONFIG` (no file when that is unset too).
    ///   - environment: The environment; the process's by default.
    /// - Returns: The validated configuration.
    /// - Throws: ``Invalid`` listing every problem, including unreadable or malformed files.
    package static func load(
        path: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> SluiceConfiguration {
        var configuration = SluiceConfiguration()
        if let path = path ?? environment["SLUICE_CONFIG"], !path.isEmpty {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw Invalid(problems: ["cannot read the configuration file '\(path)': \(error.localizedDescription)"])
            }
            do {
                configuration = try JSONDecoder().decode(SluiceConfiguration.self, from: data)
            } catch let error as DecodingError {
                throw Invalid(problems: ["'\(path)': \(Self.describe(error))"])
            }
        }
        var problems: [String] = []
        if let value = environment["SLUICE_DATA_DIR"], !value.isEmpty { configuration.dataDirectory = value }
        if let value = environment["SLUICE_HTTP_HOST"], !value.isEmpty { configuration.http.host = value }
        if let value = environment["SLUICE_HTTP_PORT"], !value.isEmpty {
            if let port = Int(value) {
                configuration.http.port = port
            } else {
                problems.append("SLUICE_HTTP_PORT '\(value)' is not a port number")
            }
        }
        if let value = environment["SLUICE_INFERENCE_ADDRESS"], !value.isEmpty {
            configuration.services.inference.address = value
        }
        if let value = environment["SLUICE_GOVERNANCE_ADDRESS"], !value.isEmpty {
            configuration.services.governance.address = value
        }
        if let value = environment["SLUICE_VECTOR_ADDRESS"], !value.isEmpty {
            configuration.services.vector.address = value
        }
        if let value = environment["SLUICE_LOG_LEVEL"], !value.isEmpty { configuration.logLevel = value }
        if let value = environment["SLUICE_REDIS_URL"], !value.isEmpty { configuration.redis.url = value }
        if let value = environment["SLUICE_GOVERNANCE_DATABASE"], !value.isEmpty {
            configuration.governance.database = value
        }
        problems += configuration.problems(environment: environment)
        guard problems.isEmpty else { throw Invalid(problems: problems) }
        return configuration
    }

    /// The price book governance charges from: `governance.price_book_file` when set, else the built-in one.
    ///
    /// - Throws: `PriceBook.FileError` naming what is wrong with the file, or why it cannot be read.
    package func priceBook() throws -> PriceBook {
        guard let path = governance.priceBookFile else { return try PriceBook.builtIn() }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PriceBook.FileError(description: "cannot read '\(path)': \(error.localizedDescription)")
        }
        return try PriceBook.decode(data)
    }

    /// Problems that make this configuration unusable.
    ///
    /// - Parameter environment: The environment, for checking that referenced variables are set.
    /// - Returns: Messages naming the offending keys.
    package func problems(environment: [String: String]) -> [String] {
        var problems = inference.problems
        if !(0...65535).contains(http.port) { problems.append("http.port \(http.port) is out of range") }
        if http.maxBodyBytes < 1024 { problems.append("http.max_body_bytes must be at least 1024") }
        if usage.admissionLimit < 1 { problems.append("usage.admission_limit must be at least 1") }
        for (name, endpoint) in [
            ("inference", services.inference), ("governance", services.governance), ("vector", services.vector),
        ] {
            if let problem = endpoint.problem(key: "services.\(name).address") { problems.append(problem) }
        }
        problems += vector.problems
        if grpc.defaultTimeoutMs <= 0 || grpc.streamTimeoutMs <= 0 { problems.append("grpc timeouts must be positive") }
        if !(0...SluiceConfiguration.GRPC.maxFlushDelayUs).contains(grpc.flushDelayUs) {
            problems.append(
                "grpc.flush_delay_us \(grpc.flushDelayUs) is not between 0 and \(SluiceConfiguration.GRPC.maxFlushDelayUs)"
            )
        }
        if let name = grpc.internalTokenEnv, (environment[name] ?? "").isEmpty {
            problems.append("grpc.internal_token_env names '\(name)', which is not set")
        }
        if let tls = grpc.tls, (tls.certPath == nil) != (tls.keyPath == nil) {
            problems.append("grpc.tls needs both cert_path and key_path, or neither")
        }
        do {
            _ = try priceBook()
        } catch {
            problems.append("governance.price_book_file: \(error)")
        }
        problems += governance.limits.problems
        problems += redis.problems
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        if !levels.contains(logLevel) {
            problems.append("log_level '\(logLevel)' is not one of \(levels.joined(separator: ", "))")
        }
        return problems
    }

    /// The effective configuration as JSON, with secrets redacted: for each variable that holds a secret, only
    /// whether it is set.
    ///
    /// - Parameter environment: The environment, to report which secret variables are set.
    /// - Returns: Pretty-printed JSON.
    package func redactedJSON(environment: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] ?? [:]
        var secrets: [String: String] = [:]
        for provider in providers {
            if let name = provider.apiKeyEnv {
                secrets[name] = (environment[name] ?? "").isEmpty ? "(not set)" : "(set, redacted)"
            }
        }
        if let name = grpc.internalTokenEnv {
            secrets[name] = (environment[name] ?? "").isEmpty ? "(not set)" : "(set, redacted)"
        }
        object["secrets"] = secrets
        if let url = redis.url, var section = object["redis"] as? [String: Any] {
            section["url"] = SluiceConfiguration.Redis.redacting(url)
            object["redis"] = section
        }
        let data = try JSONSerialization.data(
            withJSONObject: object,
            options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        )
        return String(decoding: data, as: UTF8.self)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the top level" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(let type, let context):
            return "wrong type at \(path(context)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "missing value at \(path(context)): expected \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not valid JSON" : "invalid value at \(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
