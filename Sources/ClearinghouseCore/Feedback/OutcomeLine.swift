/// One line of `POST /v1/outcomes`: what a partner's campaign tool counted for one suggestion
/// in one period.
///
/// `invited` customers were shown `suggested` as a suggestion for the partner's item `item`
/// between `periodStart` and `periodEnd`; `accepted` of them took it up. The partner attests
/// that each customer counts at most once per suggestion per period, and in at most
/// `feedback.max_lines_per_customer` lines within one pooling window (SECURITY.md).
public struct OutcomeLine: Sendable, Equatable, Hashable {
    public var release: Int64
    public var kind: RecommendationKind
    /// The partner's own category X.
    public var item: String
    /// `partner:category` that was suggested.
    public var suggested: String
    public var invited: Int64
    public var accepted: Int64
    /// Milliseconds since 1970, UTC.
    public var periodStart: Int64
    public var periodEnd: Int64

    public init(
        release: Int64, kind: RecommendationKind, item: String, suggested: String, invited: Int64, accepted: Int64,
        periodStart: Int64, periodEnd: Int64
    ) {
        self.release = release
        self.kind = kind
        self.item = item
        self.suggested = suggested
        self.invited = invited
        self.accepted = accepted
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }

    /// What a later report replaces: the same suggestion of the same item over the same period.
    public var key: OutcomeKey {
        OutcomeKey(kind: kind, item: item, suggested: suggested, periodStart: periodStart, periodEnd: periodEnd)
    }
}

/// The identity of a reported outcome: a second report with this key is a correction.
public struct OutcomeKey: Sendable, Hashable {
    public var kind: RecommendationKind
    public var item: String
    public var suggested: String
    public var periodStart: Int64
    public var periodEnd: Int64

    public init(kind: RecommendationKind, item: String, suggested: String, periodStart: Int64, periodEnd: Int64) {
        self.kind = kind
        self.item = item
        self.suggested = suggested
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }

    /// The suggestion the outcome belongs to, whatever the period.
    public var suggestion: SuggestionKey { SuggestionKey(kind: kind, item: item, suggested: suggested) }
}

/// One suggestion of one of the partner's items: what outcomes accumulate under.
public struct SuggestionKey: Sendable, Hashable, Comparable {
    public var kind: RecommendationKind
    public var item: String
    public var suggested: String

    public init(kind: RecommendationKind, item: String, suggested: String) {
        self.kind = kind
        self.item = item
        self.suggested = suggested
    }

    public static func < (a: SuggestionKey, b: SuggestionKey) -> Bool {
        (a.kind.rawValue, a.item, a.suggested) < (b.kind.rawValue, b.item, b.suggested)
    }
}
