import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse recommend`: a partner's surprise lists, as the operator sees them for that partner.
///
/// The same ranking `GET /v1/releases/{id}/recommendations` serves, from the same stored
/// release, so the operator can review what a partner will get before an export goes out.
struct RecommendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Show a partner's surprise recommendations from a stored release (what the partner's API and exports get).")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "The partner whose lists to show.") var partner: String
    @Option(name: .long, help: "One of the partner's categories (default: all of them).") var category: String?
    @Option(
        name: .long,
        help: "cross (other brands' items), instead (the partner's own items, through other brands) or gaps (audiences where the item is bought less).")
    var kind: ListKind = .cross

    enum ListKind: String, CaseIterable, ExpressibleByArgument { case cross, instead, gaps }
    @Option(name: .long, help: "Release id, or latest.") var release: String = "latest"
    @Option(name: .long, help: "Suggestions per category (1-1000).") var limit: Int = 10
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @Option(name: .long, help: "mixed (explore and exploit slots), exploit or explore.") var mode: ListMode = .mixed
    @Option(name: .long, help: "The UTC day whose list to show (YYYY-MM-DD; default today): a day's list is stable.")
    var day: String?

    func validate() throws {
        guard release == "latest" || Int64(release) != nil else { throw ValidationError("--release must be a number or latest") }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        if let day, UTCDay(day) == nil { throw ValidationError("--day must be a date like 2026-12-01") }
    }

    func run() async throws {
        let admin = try await AdminContext.open(options, access: .read)
        guard let record = try await admin.store.release(id: Int64(release)),
            let table = try await admin.store.releasedTable(id: record.id)
        else {
            throw ValidationError(
                release == "latest" ? "no releases yet; `clearinghouse release now` computes one"
                    : "no release \(release); `clearinghouse release list` shows them")
        }
        let settings = admin.settings.recommendation
        guard let kind = RecommendationKind(rawValue: self.kind.rawValue) else {
            return try showGaps(table: table, record: record, minimumLift: settings.minimumLift)
        }
        let learned = LearnedRecommendations(settings: settings, feedback: admin.settings.feedback)
        let day = self.day.flatMap(UTCDay.init) ?? UTCDay(containing: WallClock.nowMilliseconds())
        switch learned.lists(
            table: table, record: record, partner: partner, category: category, kind: kind, limit: limit, mode: mode, day: day,
            outcomes: try await admin.store.outcomes(partner: partner, endingAfter: nil),
            pooled: PooledAcceptance.latest(in: try await admin.store.releases(), upTo: record.id, feedback: admin.settings.feedback))
        {
        case .failure(.categoryNotFound):
            throw ValidationError(
                "release \(record.id) has no released pair for \(partner)\(category.map { ":" + $0 } ?? ""); "
                    + "check the partner id and category (suppressed categories have too few persons)")
        case .failure(.noOwnCounts):
            throw ValidationError("release \(record.id) predates partners' own counts, which --kind instead needs; release again")
        case .success(let lists):
            switch format {
            case .json:
                try printJSON(
                    RecommendationReport(
                        release: record.id, partner: partner, kind: kind, mode: mode, day: day.description, scoring: settings, lists: lists))
            case .text:
                print(RecommendationText.describe(lists, partner: partner, kind: kind, release: record.id, settings: settings))
            }
        }
    }

    /// `--kind gaps`: what `GET /v1/releases/{id}/gaps` answers the partner.
    private func showGaps(table: ReleasedTable, record: ReleaseRecord, minimumLift: Double) throws {
        let finder = GapFinder(table: table, record: record, minimumLift: minimumLift)
        switch finder.gaps(partner: partner, category: category, limit: limit) {
        case .failure(.categoryNotFound):
            throw ValidationError(
                "release \(record.id) has no category \(category.map { "'\($0)' " } ?? "")of partner \(partner); check the partner id and category")
        case .success(let lists):
            switch format {
            case .json: try printJSON(GapReport(release: record.id, partner: partner, confidence: 0.95, lists: lists))
            case .text: print(GapText.describe(lists, partner: partner, release: record.id))
            }
        }
    }
}

/// `recommend --kind gaps --format json`.
struct GapReport: Encodable {
    let release: Int64
    let partner: String
    let confidence: Double
    let lists: [GapList]
}

/// The text rendering of gaps.
enum GapText {
    static func describe(_ lists: [GapList], partner: String, release: Int64) -> String {
        var lines = [
            "gaps for \(partner), release \(release): audiences of other brands where your item is bought less than in the "
                + "overlap (each shortfall clear of noise and sampling at 95%, one-sided)"
        ]
        // With every category asked for, the ones without a gap are named once at the end.
        let quiet = lists.count > 1 ? lists.filter(\.gaps.isEmpty).map(\.category) : []
        for list in lists where !(lists.count > 1 && list.gaps.isEmpty) {
            lines.append("")
            lines.append("\(partner):\(list.category)" + (list.gaps.isEmpty ? "  (no gap stands clear of the noise)" : ""))
            for (index, gap) in list.gaps.enumerated() {
                let seen = gap.observed.map { "\($0) buy it" } ?? "pair held back (fewer than the threshold buy it)"
                lines.append(
                    "  \(index + 1 < 10 ? " " : "")\(index + 1). \(gap.audience)  missing \(gap.observed == nil ? "at least " : "")\(gap.missing) customers: "
                        + "expected \(gap.expected), \(seen)" + (gap.confidence > 0.99 ? " (99.9% sure)" : " (95% sure)"))
                if !gap.instead.isEmpty {
                    lines.append(
                        "        they buy instead: "
                            + gap.instead.map { $0.item + String(format: " (lift %.2f)", $0.lift) }.joined(separator: ", "))
                }
            }
        }
        if !quiet.isEmpty {
            lines.append("")
            lines.append("no gap stands clear of the noise for: " + quiet.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

extension RecommendationKind: ExpressibleByArgument {}

/// `recommend --format json`.
struct RecommendationReport: Encodable {
    let release: Int64
    let partner: String
    let kind: RecommendationKind
    let mode: ListMode
    let day: String
    let scoring: RecommendationSettings
    let lists: [RecommendationList]
}

extension ListMode: ExpressibleByArgument {}

/// The text rendering of surprise lists for `recommend`.
enum RecommendationText {
    static func describe(
        _ lists: [RecommendationList], partner: String, kind: RecommendationKind, release: Int64, settings: RecommendationSettings
    ) -> String {
        var lines = [
            "\(kind == .cross ? "cross-brand suggestions" : "try instead") for \(partner), release \(release) "
                + "(lift >= \(settings.minimumLift)\(kind == .instead ? ", direct lift <= \(settings.maximumDirectLift)" : ""))"
        ]
        for list in lists {
            lines.append("")
            let measures = list.unexpectedness.map {
                String(format: "unexpectedness %.0f%%, mean novelty %.2f vs baseline %.2f", $0 * 100, list.meanNovelty ?? 0,
                    list.baseline.meanNovelty ?? 0)
            } ?? "no suggestion"
            lines.append("\(partner):\(list.category)  (\(measures))")
            for suggestion in list.suggestions {
                var evidence: [String] = []
                if let lift = suggestion.lift { evidence.append(String(format: "lift %.2f", lift)) }
                if let confidence = suggestion.confidence { evidence.append(String(format: "confidence %.2f", confidence)) }
                if let count = suggestion.count { evidence.append("n >= \(count)") }
                if kind == .instead && suggestion.lift == nil { evidence.append("direct pair below k") }
                evidence.append(String(format: "novelty %.2f", suggestion.novelty))
                if suggestion.inBaseline { evidence.append("also in baseline") }
                if let mode = suggestion.mode, let posterior = suggestion.posterior {
                    evidence.append(
                        mode.rawValue
                            + String(
                                format: " (p %.2f), acceptance %.2f%% [%.2f-%.2f]", suggestion.selectionProbability ?? 1,
                                posterior.mean * 100, posterior.low * 100, posterior.high * 100))
                    evidence.append("\(suggestion.accepted ?? 0) of \(suggestion.invited ?? 0) accepted")
                }
                if suggestion.proven == true { evidence.append("PROVEN") }
                let rank = suggestion.rank < 10 ? " \(suggestion.rank)" : "\(suggestion.rank)"
                lines.append("  \(rank). \(suggestion.item)  " + String(format: "score %.2f  ", suggestion.score) + evidence.joined(separator: ", "))
                for bridge in suggestion.bridges ?? [] {
                    lines.append("        via \(bridge.item) " + String(format: "(lift %.2f from X, %.2f to it)", bridge.liftFrom, bridge.liftTo))
                }
            }
            lines.append("      baseline: " + (list.baseline.items.isEmpty ? "-" : list.baseline.items.joined(separator: ", ")))
        }
        return lines.joined(separator: "\n")
    }
}
