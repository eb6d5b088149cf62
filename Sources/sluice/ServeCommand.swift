import ArgumentParser
import Foundation
import Logging
import SluiceServer

/// `sluice serve [all|inference|governance|vector|edge]`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run every service in one process (default), or one service alone."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(
        help: """
            Which services to run: all (every service in one process; the vector service also listens on \
            services.vector.address), inference, governance, vector or edge (one service alone).
            """
    )
    var mode: String = "all"

    func run() async throws {
        guard let mode = ServeMode(rawValue: mode) else {
            throw ValidationError(
                "unknown service '\(mode)'; expected one of \(ServeMode.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let configuration = try ConfigCommand.loadOrExit(path: options.config)
        Telemetry.bootstrapLogging(level: configuration.logLevel)
        let logger = Logger(label: "sluice.\(mode.rawValue)")
        _ = Telemetry.registry
        logger.info("starting", metadata: ["mode": "\(mode.rawValue)", "data_dir": "\(configuration.dataDirectory)"])
        try await SluiceRuntime(configuration: configuration, logger: logger).run(mode: mode)
    }
}
