import ArgumentParser
import ClearinghouseCore

/// `clearinghouse purge`: what the retention service does, now.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Erase expired consents with their signals, signals past retention, and unheld person keys, now.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let admin = try await AdminContext.open(options, access: .write)
        let now = WallClock.nowMilliseconds()
        let outcome = try await admin.store.purge(
            at: now, signalsObservedBefore: now - Int64(admin.settings.signalRetentionDays) * 86_400_000)
        switch format {
        case .json: try printJSON(outcome)
        case .text:
            print(
                "purged: \(outcome.expiredConsents) expired consents with \(outcome.signalsOfExpiredConsents) signals, "
                    + "\(outcome.signalsPastRetention) signals older than \(admin.settings.signalRetentionDays) days, "
                    + "\(outcome.personsErased) person keys" + (outcome.ledgerSequence.map { "; ledger entry \($0)" } ?? ""))
        }
    }
}
