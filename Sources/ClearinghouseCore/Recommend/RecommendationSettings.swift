/// The knobs of the surprise ranking (settings `recommend.*`).
///
/// Recommendations are post-processing of a stored release: changing these changes only how
/// released numbers are ranked, never what is released or the privacy spent.
public struct RecommendationSettings: Sendable, Equatable, Codable {
    /// A suggestion's lift must be at least this (cross: lift(X, Y); instead: every bridge link).
    public var minimumLift: Double
    /// "Try instead" keeps only own items whose direct lift with X is at most this (or whose
    /// direct count is below k): the association the partner's own data does not show.
    public var maximumDirectLift: Double
    /// A suggestion that the popularity baseline lists too has its score multiplied by this.
    public var baselineDemotion: Double

    public init(minimumLift: Double = 1.5, maximumDirectLift: Double = 1.1, baselineDemotion: Double = 0.5) {
        self.minimumLift = minimumLift
        self.maximumDirectLift = maximumDirectLift
        self.baselineDemotion = baselineDemotion
    }

    enum CodingKeys: String, CodingKey {
        case minimumLift = "min_lift"
        case maximumDirectLift = "max_direct_lift"
        case baselineDemotion = "baseline_demotion"
    }
}

/// Which surprise list: other brands' items, or the partner's own items reached through them.
public enum RecommendationKind: String, Sendable, Codable, CaseIterable {
    case cross
    case instead
}
