/// One suggestion for a partner's item X, with the evidence a marketer needs to trust it.
///
/// Every number is a released count (bucketed) or a ratio of released counts, of pairs the
/// partner may read: nothing here is about a person or about another brand's own customers.
public struct Suggestion: Sendable, Codable, Equatable {
    public var rank: Int
    /// `partner:category` suggested: another brand's item (cross) or the partner's own (instead).
    public var item: String
    public var partner: String
    public var category: String
    /// The documented serendipity score (docs/releases.md, "Surprise recommendations").
    public var score: Double
    /// Cross: lift(X, Y). Instead: the direct lift(X, Z) in the partner's own data, `nil` when
    /// the pair has fewer than k persons (no direct association worth the name).
    public var lift: Double?
    /// Cross: n_XY / n_X|AB. Instead: n_XZ / n_X at the partner, or `nil` as above.
    public var confidence: Double?
    /// The pair's count rounded down to a multiple of 10, or `nil` when below k.
    public var count: Int64?
    /// -log2 of the item's popularity (cross: share of the overlap with Y's brand holding Y;
    /// instead: share of the partner's persons holding Z): higher is less obvious.
    public var novelty: Double
    /// Whether the popularity baseline suggests it too.
    public var inBaseline: Bool
    /// Instead: the other brands' items that bridge X to Z, strongest first.
    public var bridges: [Bridge]?
    /// What the learning policy (``LearningPolicy``) says of it; absent in lists ranked
    /// before the feedback loop (exports made then).
    /// Which kind of slot it holds: the best posterior means, or a draw among the untried.
    public var mode: SuggestionMode?
    /// The chance that the policy puts it in this list on this day (for off-policy evaluation).
    public var selectionProbability: Double?
    /// The believed acceptance rate: the release's prior updated by the partner's own outcomes.
    public var posterior: Posterior?
    /// The partner's own invitations and acceptances of it so far (as of the day's cut, five
    /// minutes before it began).
    public var invited: Int64?
    public var accepted: Int64?
    /// Unexpected, and accepted significantly more often than the partner's average (one-sided
    /// exact binomial test at 95%).
    public var proven: Bool?

    enum CodingKeys: String, CodingKey {
        case rank, item, partner, category, score, lift, confidence, count, novelty, bridges
        case mode, posterior, invited, accepted, proven
        case inBaseline = "in_baseline"
        case selectionProbability = "selection_probability"
    }
}

/// A suggestion's acceptance rate as believed: the Beta posterior's mean and its central 90% interval.
public struct Posterior: Sendable, Codable, Equatable {
    public var mean: Double
    public var low: Double
    public var high: Double

    public init(mean: Double, low: Double, high: Double) {
        self.mean = mean
        self.low = low
        self.high = high
    }
}

/// One X -> Y -> Z path of a "try instead" suggestion.
public struct Bridge: Sendable, Codable, Equatable {
    /// The other brand's item Y.
    public var item: String
    /// lift(X, Y) and lift(Z, Y), both at least the minimum lift.
    public var liftFrom: Double
    public var liftTo: Double
    /// n_XY and n_ZY rounded down to a multiple of 10.
    public var countFrom: Int64
    public var countTo: Int64

    enum CodingKeys: String, CodingKey {
        case item
        case liftFrom = "lift_from"
        case liftTo = "lift_to"
        case countFrom = "count_from"
        case countTo = "count_to"
    }
}

/// The surprise list for one of the partner's items, measured against the popularity baseline.
public struct RecommendationList: Sendable, Codable, Equatable {
    /// The partner's own category X.
    public var category: String
    public var suggestions: [Suggestion]
    /// Share of the suggestions the popularity baseline does not list (Ge et al.'s
    /// unexpectedness: RS \ PM over |RS|); `nil` for an empty list.
    public var unexpectedness: Double?
    /// Mean novelty of the suggestions; `nil` for an empty list.
    public var meanNovelty: Double?
    /// What the popularity baseline (the "primitive recommender") suggests for X.
    public var baseline: Baseline

    enum CodingKeys: String, CodingKey {
        case category, suggestions, unexpectedness, baseline
        case meanNovelty = "mean_novelty"
    }
}

/// The primitive recommender a surprise list is measured against: the most popular candidates.
public struct Baseline: Sendable, Codable, Equatable {
    public var items: [String]
    public var meanNovelty: Double?
    /// Cross: mean lift(X, Y) of its items; instead: `nil` (direct lifts are mostly below k).
    public var meanLift: Double?

    enum CodingKeys: String, CodingKey {
        case items
        case meanNovelty = "mean_novelty"
        case meanLift = "mean_lift"
    }
}
