import Crypto
import Foundation

/// Which slots a list fills: both kinds (the default), only the best posterior means, or only
/// draws among the untried.
public enum ListMode: String, Sendable, Codable, CaseIterable {
    case mixed
    case exploit
    case explore
}

/// Assembles surprise lists that learn: every candidate the release offers gets a Beta
/// posterior of its acceptance rate, and the list's slots go to the best posterior means
/// (exploit) and, for `recommend.explore_share` of them, to Thompson draws among the
/// suggestions with fewer than `recommend.explore_invitations` invitations so far (explore).
///
/// The prior comes from the release's evidence and the consortium:
/// - its centre is the partner's average acceptance (shrunk toward `feedback.prior_rate`),
///   scaled by the suggestion's score against the list's best, from 0.5 to 1.5 times;
/// - it is worth `feedback.prior_strength` invitations;
/// - where the release published the suggested item's pooled acceptance, that rate is mixed
///   in, worth its noisy invitations up to `feedback.pooled_strength`.
/// The partner's own outcomes then update it: alpha += accepted, beta += invited - accepted.
///
/// A list is stable for a day: its draws come from a generator seeded by the release, partner,
/// list, mode and UTC day, and it counts only the outcomes recorded five minutes before the day
/// began (``UTCDay/countsBefore``).
/// Everything here is post-processing of released numbers and the partner's own reports.
public struct LearningPolicy: Sendable {
    public let settings: RecommendationSettings
    public let feedback: FeedbackSettings
    /// Draws behind each selection probability.
    public static let probabilityDraws = 256
    /// The one-sided level of the "proven" test.
    public static let provenLevel = 0.05

    public init(settings: RecommendationSettings, feedback: FeedbackSettings) {
        self.settings = settings
        self.feedback = feedback
    }

    /// What a list is drawn for: the same context gives the same list.
    public struct Context: Sendable {
        public var release: Int64
        public var partner: String
        public var kind: RecommendationKind
        public var mode: ListMode
        /// The UTC day (`2026-12-01`) whose list this is.
        public var day: String
        public var outcomes: PartnerOutcomes
        public var pooled: PooledAcceptance?

        public init(
            release: Int64, partner: String, kind: RecommendationKind, mode: ListMode, day: String, outcomes: PartnerOutcomes,
            pooled: PooledAcceptance?
        ) {
            self.release = release
            self.partner = partner
            self.kind = kind
            self.mode = mode
            self.day = day
            self.outcomes = outcomes
            self.pooled = pooled
        }
    }

    /// The partner's average acceptance, shrunk toward the prior rate by the prior's strength.
    func partnerRate(_ outcomes: PartnerOutcomes) -> Double {
        (Double(outcomes.total.accepted) + feedback.priorRate * feedback.priorStrength)
            / (Double(outcomes.total.invited) + feedback.priorStrength)
    }

    /// The prior of a candidate with `score` in a list whose best score is `bestScore`.
    func prior(score: Double, bestScore: Double, suggested: String, context: Context) -> BetaDistribution {
        let relative = bestScore > 0 ? max(0, min(1, score / bestScore)) : 1
        var centre = partnerRate(context.outcomes) * (0.5 + relative)
        var strength = feedback.priorStrength
        if let pooled = context.pooled?.byItem[suggested], pooled.invited > 0 {
            let weight = min(Double(pooled.invited), feedback.pooledStrength)
            centre = (centre * strength + pooled.rate * weight) / (strength + weight)
            strength += weight
        }
        centre = min(0.999, max(0.001, centre))
        return BetaDistribution(alpha: centre * strength, beta: (1 - centre) * strength)
    }

    /// The lists of `ranked` (every candidate of each item, by score) cut to `limit` slots.
    public func assemble(_ ranked: [RecommendationList], limit: Int, context: Context) -> [RecommendationList] {
        ranked.map { assemble($0, limit: limit, context: context) }
    }

    func assemble(_ list: RecommendationList, limit: Int, context: Context) -> RecommendationList {
        let candidates = list.suggestions
        let bestScore = candidates.map(\.score).max() ?? 0
        let averageRate = context.outcomes.total.rate
        var posteriors: [BetaDistribution] = []
        var totals: [OutcomeTotals] = []
        for candidate in candidates {
            let own = context.outcomes.bySuggestion[
                SuggestionKey(kind: context.kind, item: list.category, suggested: candidate.item)] ?? OutcomeTotals()
            let prior = prior(score: candidate.score, bestScore: bestScore, suggested: candidate.item, context: context)
            posteriors.append(
                BetaDistribution(alpha: prior.alpha + Double(own.accepted), beta: prior.beta + Double(own.invited - own.accepted)))
            totals.append(own)
        }
        let untried = Set(candidates.indices.filter { totals[$0].invited < settings.exploreInvitations })
        let slots = min(limit, candidates.count)
        let exploreSlots: Int
        switch context.mode {
        case .mixed: exploreSlots = settings.exploreSlots(limit: slots)
        case .exploit: exploreSlots = 0
        case .explore: exploreSlots = slots
        }
        let byMean = candidates.indices.sorted {
            posteriors[$0].mean != posteriors[$1].mean ? posteriors[$0].mean > posteriors[$1].mean : $0 < $1
        }
        let exploited = Array(byMean.prefix(slots - exploreSlots))
        let pool = byMean.filter { untried.contains($0) && !exploited.contains($0) }

        var generator = SeededGenerator(seed: seed(list.category, context))
        let drawn = draw(pool, slots: exploreSlots, posteriors: posteriors, using: &generator)
        var chosenCount = [Int: Int]()
        for _ in 1..<Self.probabilityDraws {
            for index in draw(pool, slots: exploreSlots, posteriors: posteriors, using: &generator) { chosenCount[index, default: 0] += 1 }
        }
        for index in drawn { chosenCount[index, default: 0] += 1 }

        var picks: [(index: Int, mode: SuggestionMode, probability: Double)] = exploited.map { ($0, .exploit, 1) }
        picks += drawn.map { ($0, .explore, Double(chosenCount[$0, default: 0]) / Double(Self.probabilityDraws)) }
        // Too few untried suggestions for the explore slots (mixed): the next best means fill them.
        if context.mode == .mixed {
            let taken = Set(picks.map(\.index))
            picks += byMean.filter { !taken.contains($0) }.prefix(slots - picks.count).map { ($0, .exploit, 1) }
        }
        let suggestions = picks.enumerated().map { rank, pick -> Suggestion in
            var suggestion = candidates[pick.index]
            let posterior = posteriors[pick.index]
            let own = totals[pick.index]
            suggestion.rank = rank + 1
            suggestion.mode = pick.mode
            suggestion.selectionProbability = (pick.probability * 1000).rounded() / 1000
            suggestion.posterior = Posterior(mean: posterior.mean, low: posterior.quantile(0.05), high: posterior.quantile(0.95))
            suggestion.invited = own.invited
            suggestion.accepted = own.accepted
            suggestion.proven = Self.isProven(inBaseline: suggestion.inBaseline, own: own, averageRate: averageRate)
            return suggestion
        }
        var assembled = list
        assembled.suggestions = suggestions
        assembled.unexpectedness = SurpriseRanker.unexpectedness(suggestions)
        assembled.meanNovelty = SurpriseRanker.mean(suggestions.map(\.novelty))
        return assembled
    }

    /// Thompson sampling: one draw from each pooled posterior, the best `slots` of them.
    private func draw(_ pool: [Int], slots: Int, posteriors: [BetaDistribution], using generator: inout SeededGenerator) -> [Int] {
        guard slots > 0, !pool.isEmpty else { return [] }
        guard pool.count > slots else { return pool }
        let draws = pool.map { (index: $0, value: posteriors[$0].sample(using: &generator)) }
        return draws.sorted { $0.value != $1.value ? $0.value > $1.value : $0.index < $1.index }.prefix(slots).map(\.index)
    }

    /// Unexpected (outside the popularity baseline; "try instead" suggestions have a weak direct
    /// link by construction) and significantly above the partner's average acceptance: the
    /// chance of at least this many acceptances at the average rate is under 5%.
    public static func isProven(inBaseline: Bool, own: OutcomeTotals, averageRate: Double?) -> Bool {
        guard !inBaseline, own.invited > 0, let averageRate else { return false }
        return BetaDistribution.binomialUpperTail(atLeast: own.accepted, of: own.invited, rate: averageRate) < provenLevel
    }

    private func seed(_ category: String, _ context: Context) -> UInt64 {
        let text = [
            "clearinghouse.list.v1", "\(context.release)", context.partner, context.kind.rawValue, category, context.mode.rawValue,
            context.day, "\(context.outcomes.latestRecordedAt)",
        ].joined(separator: "\u{1F}")
        let digest = Array(SHA256.hash(data: Array(text.utf8)))
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
