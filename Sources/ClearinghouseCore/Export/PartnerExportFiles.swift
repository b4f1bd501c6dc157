import Foundation

/// The files of one partner's export, built from a stored release: only what that partner may
/// read over the API (its own side of cross-brand pairs, its own pairs' rankings), in CSV for
/// spreadsheets and JSON for programs. Column meanings are documented in docs/operations.md ("Exports").
public struct PartnerExportFiles: Sendable {
    public let partner: String
    public let release: PublicReleaseInfo
    public let scoring: RecommendationSettings
    public let affinities: [Affinity]
    public let cross: [RecommendationList]
    /// Empty when the release predates partners' own counts.
    public let instead: [RecommendationList]
    /// The privacy budget of the period at export time, shown in the report.
    public let budget: BudgetStatus?
    /// The audiences where each of the partner's items is bought less than expected.
    public let gaps: [GapList]

    /// What the partner's suggestions achieved, per period (the report's chart).
    public let outcomes: OutcomeSummary

    /// Suggestions per category in an export.
    public static let suggestionsPerCategory = 10

    /// What the lists learn from: the partner's outcomes as of the export's day.
    public struct Learning: Sendable {
        public var feedback: FeedbackSettings
        public var day: UTCDay
        public var outcomes: [OutcomeRecord]
        /// The consortium's pooled acceptance as of the release (``PooledAcceptance/latest(in:upTo:)``).
        public var pooled: PooledAcceptance?

        public init(feedback: FeedbackSettings, day: UTCDay, outcomes: [OutcomeRecord], pooled: PooledAcceptance? = nil) {
            self.feedback = feedback
            self.day = day
            self.outcomes = outcomes
            self.pooled = pooled
        }
    }

    public init?(
        table: ReleasedTable, record: ReleaseRecord, partner: String, scoring: RecommendationSettings, budget: BudgetStatus? = nil,
        learning: Learning = Learning(feedback: FeedbackSettings(), day: UTCDay(containing: WallClock.nowMilliseconds()), outcomes: [])
    ) {
        guard let affinities = table.affinities(partner: partner, category: nil, limit: Int.max, bucketWidth: record.partnerBucketWidth),
            !affinities.isEmpty
        else { return nil }
        let learned = LearnedRecommendations(settings: scoring, feedback: learning.feedback)
        func lists(_ kind: RecommendationKind) -> [RecommendationList] {
            (try? learned.lists(
                table: table, record: record, partner: partner, category: nil, kind: kind, limit: Self.suggestionsPerCategory,
                mode: .mixed, day: learning.day, outcomes: learning.outcomes, pooled: learning.pooled
            ).get()) ?? []
        }
        outcomes = OutcomeSummary(partner: partner, records: learning.outcomes)
        self.partner = partner
        self.release = record.publicInfo
        self.scoring = scoring
        self.budget = budget
        self.affinities = affinities
        self.cross = lists(.cross)
        self.gaps = (try? GapFinder(table: table, record: record, minimumLift: scoring.minimumLift).gaps(
            partner: partner, category: nil, limit: Self.suggestionsPerCategory).get()) ?? []
        self.instead = lists(.instead)
    }

    /// File name and contents, in the order they are written.
    public func files() throws -> [(name: String, contents: [UInt8])] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [
            ("affinities.csv", Array(affinitiesCSV.utf8)),
            ("affinities.json", Array(try encoder.encode(AffinityFile(release: release, partner: partner, affinities: affinities)))),
            ("recommendations.csv", Array(recommendationsCSV.utf8)),
            (
                "recommendations.json",
                Array(try encoder.encode(
                    RecommendationFile(release: release, partner: partner, scoring: scoring, cross: cross, instead: instead)))
            ),
            ("gaps.csv", Array(gapsCSV.utf8)),
            ("report.html", Array(PartnerReport(files: self).html.utf8)),
        ]
    }

    public static let affinitiesHeader = "category,other_partner,other_category,n,n_category,lift,confidence,pmi"
    public static let recommendationsHeader =
        "kind,category,rank,item,score,lift,confidence,count,novelty,in_baseline,bridges,"
        + "mode,selection_probability,posterior_mean,posterior_low,posterior_high,invited,accepted,proven"
    public static let gapsHeader = "category,rank,audience,basis,observed,expected,missing,confidence,rate_ratio,instead"

    var gapsCSV: String {
        var lines = [Self.gapsHeader]
        for list in gaps {
            for (index, gap) in list.gaps.enumerated() {
                lines.append(
                    "\(list.category),\(index + 1),\(gap.audience),\(gap.basis),\(gap.observed.map { "\($0)" } ?? ""),\(gap.expected),"
                        + "\(gap.missing),\(gap.confidence),\(gap.rateRatio.map { "\($0)" } ?? ""),"
                        + gap.instead.map(\.item).joined(separator: ";"))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var affinitiesCSV: String {
        var lines = [Self.affinitiesHeader]
        for affinity in affinities {
            lines.append(
                "\(affinity.category),\(affinity.partner),\(affinity.otherCategory),\(affinity.n),\(affinity.nCategory),"
                    + "\(affinity.lift),\(affinity.confidence),\(affinity.pmi)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var recommendationsCSV: String {
        var lines = [Self.recommendationsHeader]
        for (kind, lists) in [(RecommendationKind.cross, cross), (.instead, instead)] {
            for list in lists {
                for suggestion in list.suggestions {
                    let optional: (Double?) -> String = { $0.map { "\($0)" } ?? "" }
                    lines.append(
                        "\(kind.rawValue),\(list.category),\(suggestion.rank),\(suggestion.item),\(suggestion.score),"
                            + "\(optional(suggestion.lift)),\(optional(suggestion.confidence)),\(suggestion.count.map { "\($0)" } ?? ""),"
                            + "\(suggestion.novelty),\(suggestion.inBaseline),"
                            + (suggestion.bridges ?? []).map(\.item).joined(separator: ";") + ","
                            + "\(suggestion.mode?.rawValue ?? ""),\(optional(suggestion.selectionProbability)),"
                            + "\(optional(suggestion.posterior?.mean)),\(optional(suggestion.posterior?.low)),"
                            + "\(optional(suggestion.posterior?.high)),\(suggestion.invited.map { "\($0)" } ?? ""),"
                            + "\(suggestion.accepted.map { "\($0)" } ?? ""),\(suggestion.proven.map { "\($0)" } ?? "")")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `affinities.json`.
struct AffinityFile: Encodable {
    let release: PublicReleaseInfo
    let partner: String
    let affinities: [Affinity]
}

/// `recommendations.json`.
struct RecommendationFile: Encodable {
    let release: PublicReleaseInfo
    let partner: String
    let scoring: RecommendationSettings
    let cross: [RecommendationList]
    let instead: [RecommendationList]
}
