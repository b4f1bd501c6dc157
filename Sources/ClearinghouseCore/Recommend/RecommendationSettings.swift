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
    /// How many of the most popular candidates the popularity baseline lists, whatever the list's
    /// length. Its own size, not the list's: when a partner has no more candidates than the
    /// list's limit, a baseline as long as the list holds every candidate, and every list reads
    /// "unexpectedness 0%" whatever it suggests. 0: as long as the list (how lists were measured
    /// before this setting; exports made then decode so).
    public var baselineSize: Int
    /// The share of a list's slots that goes to suggestions with few invitations so far
    /// (exploration); the rest go to the best posterior means (exploitation).
    public var exploreShare: Double
    /// "Few invitations so far": fewer than this many of the partner's own.
    public var exploreInvitations: Int64

    public static let defaultBaselineSize = 3
    /// A list's length when none is asked for, and the baseline outcomes are classified against.
    public static let defaultListLength = 10

    public init(
        minimumLift: Double = 1.5, maximumDirectLift: Double = 1.1, baselineDemotion: Double = 0.5,
        baselineSize: Int = RecommendationSettings.defaultBaselineSize, exploreShare: Double = 0.2,
        exploreInvitations: Int64 = 500
    ) {
        self.minimumLift = minimumLift
        self.maximumDirectLift = maximumDirectLift
        self.baselineDemotion = baselineDemotion
        self.baselineSize = baselineSize
        self.exploreShare = exploreShare
        self.exploreInvitations = exploreInvitations
    }

    /// How many of a list of `limit` slots explore: the share, rounded, and at least one of a
    /// list of two or more when the share is not 0.
    public func exploreSlots(limit: Int) -> Int {
        guard exploreShare > 0, limit > 0 else { return 0 }
        let slots = Int((Double(limit) * exploreShare).rounded())
        return min(limit, max(limit >= 2 ? 1 : 0, slots))
    }

    /// The baseline's length for a list of `limit` suggestions.
    public func baselineLength(limit: Int) -> Int { baselineSize == 0 ? limit : baselineSize }

    enum CodingKeys: String, CodingKey {
        case minimumLift = "min_lift"
        case maximumDirectLift = "max_direct_lift"
        case baselineDemotion = "baseline_demotion"
        case baselineSize = "baseline_size"
        case exploreShare = "explore_share"
        case exploreInvitations = "explore_invitations"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        minimumLift = try container.decode(Double.self, forKey: .minimumLift)
        maximumDirectLift = try container.decode(Double.self, forKey: .maximumDirectLift)
        baselineDemotion = try container.decode(Double.self, forKey: .baselineDemotion)
        // Exports signed before the setting existed measured against a baseline as long as the list.
        baselineSize = try container.decodeIfPresent(Int.self, forKey: .baselineSize) ?? 0
        // Lists ranked before the feedback loop did not explore.
        exploreShare = try container.decodeIfPresent(Double.self, forKey: .exploreShare) ?? 0
        exploreInvitations = try container.decodeIfPresent(Int64.self, forKey: .exploreInvitations) ?? 0
    }
}

/// Which surprise list: other brands' items, or the partner's own items reached through them.
public enum RecommendationKind: String, Sendable, Codable, CaseIterable {
    case cross
    case instead
}
