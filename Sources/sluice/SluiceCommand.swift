import ArgumentParser

/// The `sluice` command: serve, check the configuration, manage API keys.
@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A self-hosted AI platform: one governed, observable front door to every LLM provider.",
        subcommands: [ServeCommand.self, ConfigCommand.self, KeysCommand.self, PolicyCommand.self, UsageCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// Options shared by every subcommand.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (JSON). Defaults to $SLUICE_CONFIG, or built-in defaults.")
    var config: String?
}
