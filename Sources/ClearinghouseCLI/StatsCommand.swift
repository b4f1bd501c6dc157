import ArgumentParser
import ClearinghouseCore

/// `clearinghouse stats`: counts per partner and the cross-partner overlap. Counts only.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show partners, live consents, signals, persons and overlaps (counts only).")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let stats = try await AdminContext.open(options, access: .read).store.stats(at: WallClock.nowMilliseconds())
        switch format {
        case .json:
            try printJSON(stats)
        case .text:
            print("partners \(stats.partners)  live consents \(stats.liveConsents)  signals \(stats.signals)  persons \(stats.persons)")
            print("persons with live consent at two or more partners: \(stats.personsAtSeveralPartners)")
            if !stats.perPartner.isEmpty {
                print("")
                print(Table.render(
                    header: ["partner", "status", "live consents", "expired", "signals", "categories"],
                    rows: stats.perPartner.map {
                        [$0.id, $0.status, "\($0.liveConsents)", "\($0.expiredConsents)", "\($0.signals)", "\($0.categories)"]
                    }))
            }
            if !stats.overlaps.isEmpty {
                print("")
                print(Table.render(
                    header: ["partners", "persons in both"],
                    rows: stats.overlaps.map { [$0.partners.joined(separator: " + "), "\($0.persons)"] }))
            }
        }
    }
}
