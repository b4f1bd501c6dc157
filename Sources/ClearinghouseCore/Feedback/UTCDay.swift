import Foundation

/// A calendar day in UTC, `2026-12-01`: the unit a learned list is stable for.
public struct UTCDay: Sendable, Equatable, CustomStringConvertible {
    /// Milliseconds since 1970 at the day's first instant.
    public let start: Int64

    public init(containing milliseconds: Int64) {
        let day: Int64 = 86_400_000
        start = (milliseconds >= 0 ? milliseconds / day : (milliseconds - day + 1) / day) * day
    }

    /// Parses `YYYY-MM-DD`; `nil` for anything else.
    public init?(_ text: String) {
        guard text.utf8.count == 10, let start = RFC3339.parseMilliseconds(text + "T00:00:00Z") else { return nil }
        self.start = start
    }

    public var description: String { String(RFC3339.format(milliseconds: start).prefix(10)) }

    /// The day's lists count the outcomes recorded before this instant: five minutes before the
    /// day begins, so that a batch committing around midnight (or a daemon whose clock runs a
    /// little apart from the others on one database) cannot change a list already read today.
    public var countsBefore: Int64 { start - Self.grace }

    public static let grace: Int64 = 5 * 60_000
}

/// The learned lists of a partner from a stored release: every candidate ranked by the
/// release's evidence, then assembled by the ``LearningPolicy`` from the partner's outcomes as
/// of the day's cut (``UTCDay/countsBefore``). One function for the API, the CLI, the portal and the exports.
public struct LearnedRecommendations: Sendable {
    public let settings: RecommendationSettings
    public let feedback: FeedbackSettings

    public init(settings: RecommendationSettings, feedback: FeedbackSettings) {
        self.settings = settings
        self.feedback = feedback
    }

    /// `pooled`: the consortium's pooled acceptance as of the release
    /// (``PooledAcceptance/latest(in:upTo:)``).
    public func lists(
        table: ReleasedTable, record: ReleaseRecord, partner: String, category: String?, kind: RecommendationKind,
        limit: Int, mode: ListMode, day: UTCDay, outcomes records: [OutcomeRecord], pooled: PooledAcceptance?
    ) -> Result<[RecommendationList], SurpriseRanker.Failure> {
        let ranker = SurpriseRanker(table: table, settings: settings)
        let all = max(limit, table.catalog.items.count)
        return ranker.recommendations(
            partner: partner, category: category, kind: kind, limit: all, baselineLength: settings.baselineLength(limit: limit)
        ).map { ranked in
            let context = LearningPolicy.Context(
                release: record.id, partner: partner, kind: kind, mode: mode, day: day.description,
                outcomes: PartnerOutcomes(records: records, asOf: day.countsBefore), pooled: pooled)
            return LearningPolicy(settings: settings, feedback: feedback).assemble(ranked, limit: limit, context: context)
        }
    }
}
