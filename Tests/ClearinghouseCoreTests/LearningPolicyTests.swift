import Foundation
import Testing

@testable import ClearinghouseCore

/// The learning lists on the planted consortium: priors, updates, explore slots, stability,
/// selection probabilities and the proven flag.
@Suite("Learning policy")
struct LearningPolicyTests {
    /// A low lift minimum, so that acme:c05 has many cross candidates to explore among.
    static let settings = RecommendationSettings(minimumLift: 0.5, exploreShare: 0.2, exploreInvitations: 500)
    static let feedback = FeedbackSettings()
    static let table = plantedRelease(seed: 7)
    static let day = UTCDay("2026-12-01")!

    static func ranked() throws -> RecommendationList {
        try #require(
            try SurpriseRanker(table: table, settings: settings).recommendations(
                partner: "acme", category: "c05", kind: .cross, limit: 100, baselineLength: 3
            ).get().first)
    }

    static func record(_ suggested: String, invited: Int64, accepted: Int64, inBaseline: Bool = false, recordedAt: Int64 = 1, week: Int64 = 0)
        -> OutcomeRecord
    {
        let start = RFC3339.parseMilliseconds("2026-10-05T00:00:00Z")! + week * 7 * 86_400_000
        return OutcomeRecord(
            partner: "acme",
            line: OutcomeLine(
                release: 1, kind: .cross, item: "c05", suggested: suggested, invited: invited, accepted: accepted, periodStart: start,
                periodEnd: start + 7 * 86_400_000),
            inBaseline: inBaseline, mode: .explore, recordedAt: recordedAt)
    }

    static func context(_ records: [OutcomeRecord], mode: ListMode = .mixed, day: UTCDay = day, pooled: PooledAcceptance? = nil)
        -> LearningPolicy.Context
    {
        LearningPolicy.Context(
            release: 1, partner: "acme", kind: .cross, mode: mode, day: day.description, outcomes: PartnerOutcomes(records: records, asOf: day.start),
            pooled: pooled)
    }

    let policy = LearningPolicy(settings: LearningPolicyTests.settings, feedback: LearningPolicyTests.feedback)

    @Test("the posterior is the evidence's prior plus the partner's own invitations and acceptances")
    func posteriorUpdate() throws {
        let ranked = try Self.ranked()
        #expect(ranked.suggestions.count >= 8, "enough candidates to explore among")
        let target = ranked.suggestions[3]
        let before = policy.assemble(ranked, limit: ranked.suggestions.count, context: Self.context([]))
        let records = [Self.record(target.item, invited: 800, accepted: 200), Self.record(ranked.suggestions[0].item, invited: 800, accepted: 8)]
        let context = Self.context(records)
        let after = policy.assemble(ranked, limit: ranked.suggestions.count, context: context)
        let prior = policy.prior(score: target.score, bestScore: ranked.suggestions.map(\.score).max()!, suggested: target.item, context: context)
        let updated = try #require(after.suggestions.first { $0.item == target.item })
        let expected = (prior.alpha + 200) / (prior.alpha + prior.beta + 800)
        #expect(abs(updated.posterior!.mean - expected) < 1e-12)
        #expect(updated.invited == 800 && updated.accepted == 200)
        #expect(updated.posterior!.low < updated.posterior!.mean && updated.posterior!.mean < updated.posterior!.high)
        #expect(updated.posterior!.high - updated.posterior!.low < 0.07, "800 invitations make a narrow interval")
        let unchanged = try #require(before.suggestions.first { $0.item == target.item })
        #expect(unchanged.posterior!.mean < updated.posterior!.mean, "25% acceptance lifts it above the 5% prior")
        #expect(after.suggestions.first?.item == target.item, "the best posterior mean leads the exploit slots")
        // Outcomes recorded after the day began are not counted yet; a replaced report no longer is.
        let late = Self.context([Self.record(target.item, invited: 800, accepted: 200, recordedAt: Self.day.start + 1)])
        #expect(policy.assemble(ranked, limit: 5, context: late).suggestions.allSatisfy { $0.invited == 0 })
        // The day's cut is five minutes before it began: a batch stamped inside them waits a day.
        let justBefore = Self.record(target.item, invited: 800, accepted: 200, recordedAt: Self.day.start - 60_000)
        #expect(PartnerOutcomes(records: [justBefore], asOf: Self.day.countsBefore).total.invited == 0)
        let inTime = Self.record(target.item, invited: 800, accepted: 200, recordedAt: Self.day.start - 6 * 60_000)
        #expect(PartnerOutcomes(records: [inTime], asOf: Self.day.countsBefore).total.invited == 800)
        var replaced = Self.record(target.item, invited: 800, accepted: 200)
        replaced.replacedAt = Self.day.start - 1
        #expect(PartnerOutcomes(records: [replaced], asOf: Self.day.start).total.invited == 0)
    }

    @Test("a day's list is the same on every read; exploit slots hold the best means, explore slots the untried")
    func stabilityAndExploreShare() throws {
        let ranked = try Self.ranked()
        let tried = ranked.suggestions.prefix(3).map { Self.record($0.item, invited: 600, accepted: 30) }
        let first = policy.assemble(ranked, limit: 5, context: Self.context(tried))
        let second = policy.assemble(ranked, limit: 5, context: Self.context(tried))
        #expect(first == second)
        let explored = first.suggestions.filter { $0.mode == .explore }
        #expect(explored.count == 1, "0.2 of 5 slots")
        #expect(explored.allSatisfy { ($0.invited ?? 0) < 500 })
        let exploited = first.suggestions.filter { $0.mode == .exploit }
        #expect(exploited.count == 4)
        #expect(exploited.allSatisfy { $0.selectionProbability == 1 })
        let means = policy.assemble(ranked, limit: ranked.suggestions.count, context: Self.context(tried, mode: .exploit)).suggestions
            .map(\.item)
        #expect(exploited.map(\.item) == Array(means.prefix(4)), "exploit slots are the four best posterior means")

        let onlyExplore = policy.assemble(ranked, limit: 5, context: Self.context(tried, mode: .explore)).suggestions
        #expect(onlyExplore.count == 5 && onlyExplore.allSatisfy { $0.mode == .explore && ($0.invited ?? 0) < 500 })
        #expect(policy.assemble(ranked, limit: 5, context: Self.context(tried, mode: .exploit)).suggestions.allSatisfy { $0.mode == .exploit })

        // Other days draw again.
        var picks = Set<String>()
        for offset in 0..<20 {
            let day = UTCDay(containing: Self.day.start + Int64(offset) * 86_400_000)
            picks.formUnion(policy.assemble(ranked, limit: 5, context: Self.context(tried, day: day)).suggestions.filter { $0.mode == .explore }.map(\.item))
        }
        #expect(picks.count >= 3, "twenty days explore several untried suggestions")
    }

    @Test("selection probabilities are what the explore draws do, day after day")
    func selectionProbabilities() throws {
        let ranked = try Self.ranked()
        let records = ranked.suggestions.prefix(4).map { Self.record($0.item, invited: 700, accepted: 35) }
        var reported: [String: Double] = [:]
        var chosen: [String: Double] = [:]
        let days = 300
        for offset in 0..<days {
            let day = UTCDay(containing: Self.day.start + Int64(offset) * 86_400_000)
            let list = policy.assemble(ranked, limit: 5, context: Self.context(records, mode: .explore, day: day))
            for suggestion in list.suggestions {
                chosen[suggestion.item, default: 0] += 1
                reported[suggestion.item, default: 0] += suggestion.selectionProbability ?? 0
            }
        }
        let pool = ranked.suggestions.count - 4
        #expect(pool > 5, "more untried candidates than slots")
        #expect(chosen.count > 5, "the draws reach beyond the first five")
        for (item, count) in chosen where count >= 30 {
            // The posteriors are the same every day (the outcomes do not change), so the
            // probability reported when an item is chosen is its probability on any day, and
            // the share of days it is chosen estimates the same: they agree within sampling
            // error (300 days, 256 draws per estimate).
            let frequency = count / Double(days)
            let meanWhenChosen = reported[item]! / count
            #expect(abs(meanWhenChosen - frequency) < 0.1, "\(item): chosen \(frequency), reported \(meanWhenChosen)")
        }
    }

    @Test("proven: outside the baseline and significantly above the partner's average; nothing else")
    func provenOnPlantedOutcomes() throws {
        let ranked = try Self.ranked()
        let outside = ranked.suggestions.filter { !$0.inBaseline }
        let inside = ranked.suggestions.filter(\.inBaseline)
        let gem = try #require(outside.last)
        let ordinary = try #require(outside.first)
        let popular = try #require(inside.first)
        var records = [
            Self.record(gem.item, invited: 400, accepted: 60), Self.record(ordinary.item, invited: 4000, accepted: 200),
            Self.record(popular.item, invited: 400, accepted: 60, inBaseline: true),
        ]
        records += outside.dropFirst().dropLast().map { Self.record($0.item, invited: 2000, accepted: 90) }
        let list = policy.assemble(ranked, limit: ranked.suggestions.count, context: Self.context(records, mode: .exploit))
        func proven(_ item: String) -> Bool? { list.suggestions.first { $0.item == item }?.proven }
        #expect(proven(gem.item) == true, "15% against a ~5% average")
        #expect(proven(ordinary.item) == false, "at the average")
        #expect(proven(popular.item) == false, "in the popularity baseline: not a surprise")
        #expect(list.suggestions.filter { $0.proven == true }.map(\.item) == [gem.item])
        let summary = OutcomeSummary(partner: "acme", records: records)
        #expect(summary.proven.map(\.suggested) == [gem.item])
        #expect(summary.proven.first!.pValue < 0.05)
        #expect(summary.outsideBaseline.invited == records.filter { !$0.inBaseline }.reduce(0) { $0 + $1.line.invited })
    }

    @Test("the consortium's pooled acceptance moves the prior toward what worked elsewhere")
    func pooledPrior() throws {
        let ranked = try Self.ranked()
        let target = ranked.suggestions.last!
        let pooled = PooledAcceptance(
            windowStart: "", windowEnd: "", rho: 0, epsilon: 0, sigma: 0, threshold: 0, l2Sensitivity: 0, partners: 2,
            items: [.init(item: target.item, invited: 5000, accepted: 1500)])
        let plain = policy.assemble(ranked, limit: ranked.suggestions.count, context: Self.context([], mode: .exploit))
        let informed = policy.assemble(ranked, limit: ranked.suggestions.count, context: Self.context([], mode: .exploit, pooled: pooled))
        let before = plain.suggestions.first { $0.item == target.item }!.posterior!.mean
        let after = informed.suggestions.first { $0.item == target.item }!.posterior!.mean
        #expect(after > before * 3, "30% elsewhere, worth up to \(Self.feedback.pooledStrength) invitations")
        #expect(informed.suggestions.first?.item == target.item, "what worked elsewhere is tried here first")
    }
}
