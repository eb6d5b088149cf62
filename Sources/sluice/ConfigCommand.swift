import ArgumentParser
import Foundation
import SluiceServer

/// `sluice config check`.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the configuration.",
        subcommands: [Check.self]
    )

    /// `sluice config check`: validate and print the effective configuration.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration and print it, defaults and environment applied, secrets redacted."
        )

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let configuration = try ConfigCommand.loadOrExit(path: options.config)
            print(try configuration.redactedJSON(environment: ProcessInfo.processInfo.environment))
        }
    }

    /// Loads the configuration, or prints every problem to standard error and exits with status 2.
    static func loadOrExit(path: String?) throws -> SluiceConfiguration {
        do {
            return try SluiceConfiguration.load(path: path)
        } catch let error as SluiceConfiguration.Invalid {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
