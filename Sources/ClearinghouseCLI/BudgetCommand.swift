import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse budget`: the privacy budget of the current period, as `GET /v1/budget`
/// answers partners (the operator's copy, from the same stored releases).
struct BudgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Show the privacy budget of this period: spent, left, releases that still fit, when it resets.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @Option(name: .long, help: "Show the period holding this RFC 3339 time instead of now (an earlier period, for an audit).")
    var at: String?

    func validate() throws {
        if let at, RFC3339.parseMilliseconds(at) == nil {
            throw ValidationError("--at must be an RFC 3339 time such as 2026-11-15T12:00:00Z")
        }
    }

    func run() async throws {
        let admin = try await AdminContext.open(options, access: .read)
        let status = BudgetStatus(
            budget: admin.settings.budget, settings: admin.settings.privacy, releases: try await admin.store.releases(),
            at: at.flatMap(RFC3339.parseMilliseconds) ?? WallClock.nowMilliseconds())
        switch format {
        case .json: try printJSON(status)
        case .text: print(BudgetText.describe(status))
        }
    }
}

/// The text rendering of a budget status.
enum BudgetText {
    static func describe(_ status: BudgetStatus) -> String {
        var lines = [
            "privacy budget, period \(status.period) (\(status.periodKind) from \(status.periodStart); resets \(status.resetsAt))"
        ]
        guard status.differentialPrivacy else {
            lines.append("  differential privacy is off (privacy.differential_privacy): releases spend no epsilon")
            return lines.joined(separator: "\n")
        }
        lines.append(
            "  epsilon spent " + String(format: "%.3f", status.epsilonSpent) + " of \(status.epsilonPerPeriod) at delta \(status.delta), left "
                + String(format: "%.3f", status.epsilonLeft) + " (zCDP rho " + String(format: "%.5f", status.rhoSpent) + " of "
                + String(format: "%.5f", status.rhoLimit) + ")")
        lines.append(
            "  releases at epsilon \(status.epsilonPerRelease ?? 0) that still fit this period: \(status.releasesLeft ?? 0)"
                + (status.exhausted ? " (spent: the next release can be made at \(status.resetsAt))" : ""))
        if let scheduled = status.scheduledReleases { lines.append("  scheduled releases \(scheduled)") }
        if status.releases.isEmpty {
            lines.append("  no release in this period yet")
        } else {
            lines.append("")
            lines.append(Table.render(
                header: ["release", "created", "by", "epsilon", "rho"],
                rows: status.releases.map {
                    ["\($0.release)", $0.createdAt, $0.trigger, String(format: "%.3f", $0.epsilon), String(format: "%.5f", $0.rho)]
                }))
        }
        return lines.joined(separator: "\n")
    }
}
