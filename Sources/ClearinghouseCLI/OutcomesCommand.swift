import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse outcomes`: what partners reported of their suggestions (`POST /v1/outcomes`).
struct OutcomesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outcomes",
        abstract: "Partners' reported outcomes of suggestions: what the surprises achieved.",
        subcommands: [Summary.self])

    /// `clearinghouse outcomes summary`: per partner and period, as `GET /v1/outcomes/summary`
    /// answers each partner its own.
    struct Summary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per partner and period: acceptance outside vs inside the popularity baseline, explore vs exploit, proven surprises.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "One partner (default: every partner that reported outcomes).") var partner: String?
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let records = try await admin.store.outcomes(partner: partner, endingAfter: nil)
            let partners = partner.map { [$0] } ?? Array(Set(records.map(\.partner))).sorted()
            let summaries = partners.map { OutcomeSummary(partner: $0, records: records) }
            switch format {
            case .json: try printJSON(OutcomeSummaries(partners: summaries))
            case .text: print(OutcomeText.describe(summaries))
            }
        }
    }
}

/// `outcomes summary --format json`.
struct OutcomeSummaries: Encodable {
    let partners: [OutcomeSummary]
}

/// The text rendering of outcome summaries.
enum OutcomeText {
    static func describe(_ summaries: [OutcomeSummary]) -> String {
        guard !summaries.isEmpty else { return "no outcomes reported yet (partners send them with POST /v1/outcomes)" }
        func rate(_ totals: OutcomeTotals) -> String {
            totals.rate.map { String(format: "%6.2f%% of %d", $0 * 100, totals.invited) } ?? "      -"
        }
        var lines: [String] = []
        for summary in summaries {
            lines.append("\(summary.partner): \(summary.suggestions) suggestions reported, acceptance \(rate(summary.total))")
            lines.append("  outside baseline \(rate(summary.outsideBaseline)), inside \(rate(summary.insideBaseline))")
            lines.append("  explore \(rate(summary.explore)), exploit \(rate(summary.exploit))")
            lines.append("  period                                      outside baseline       inside baseline        explore                exploit")
            for period in summary.periods {
                lines.append(
                    "  \(period.periodStart.prefix(10)) to \(period.periodEnd.prefix(10))  "
                        + [period.outsideBaseline, period.insideBaseline, period.explore, period.exploit].map(rate).joined(separator: "  "))
            }
            lines.append(
                summary.proven.isEmpty ? "  proven surprises: none yet" : "  proven surprises (one-sided exact binomial test at 95%):")
            for proven in summary.proven {
                lines.append(
                    "    \(proven.kind.rawValue) \(proven.item) -> \(proven.suggested): "
                        + String(format: "%.2f%% of %d, p = %.4f", proven.rate * 100, proven.invited, proven.pValue))
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
