import ArgumentParser
import ClearinghouseCore

/// The `clearinghouse` command: the daemon and the operator's admin tools in one binary.
///
/// Admin commands open the same database as the daemon (WAL lets them run beside it), so they
/// work whether the daemon runs or not.
public struct ClearinghouseCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "clearinghouse",
        abstract: "Pool consented customer signals across brands; release only private aggregates.",
        version: ClearinghouseVersion.current,
        subcommands: [ServeCommand.self, DemoCommand.self, PartnerCommand.self, StatsCommand.self, ReleaseCommand.self, AuditCommand.self, ConsentCommand.self, PurgeCommand.self, RecordsCommand.self, SaltCommand.self, TokenCommand.self, RecommendCommand.self, ExportCommand.self, StorageCommand.self, SettingsCommand.self, BudgetCommand.self, OutcomesCommand.self])

    public init() {}
}
