import Foundation
import Testing

@testable import ClearinghouseCore

@Suite("Pooled acceptance")
struct PooledAcceptanceTests {
    static let now = RFC3339.parseMilliseconds("2026-12-01T00:00:00Z")!
    static let privacy = PrivacySettings(k: 50)
    static let feedback = FeedbackSettings(pooledEpsilon: 1, poolDays: 28, maxLinesPerCustomer: 4)

    static func record(_ partner: String, _ suggested: String, invited: Int64, accepted: Int64, daysBefore: Int64 = 7) -> OutcomeRecord {
        let end = now - (daysBefore - 7) * 86_400_000
        return OutcomeRecord(
            partner: partner,
            line: OutcomeLine(
                release: 1, kind: .cross, item: "c01", suggested: suggested, invited: invited, accepted: accepted,
                periodStart: end - 7 * 86_400_000, periodEnd: end),
            inBaseline: false, mode: .exploit, recordedAt: 0)
    }

    static let records = [
        record("acme", "globex:c02", invited: 3000, accepted: 300), record("initech", "globex:c02", invited: 2000, accepted: 100),
        record("acme", "globex:c03", invited: 40, accepted: 4),  // below k
        record("initech", "acme:c04", invited: 60, accepted: 6),  // above k, far below the noisy threshold
        record("acme", "globex:c06", invited: 9000, accepted: 3000),  // one partner's own results alone
        record("acme", "globex:c05", invited: 9000, accepted: 900, daysBefore: 40),  // before the window
    ]

    @Test("sigma, threshold and rho follow from the per-customer bound and the configured epsilon")
    func plan() throws {
        var generator = SeededGenerator(seed: 3)
        let pooled = try #require(
            PooledAcceptance.compute(records: Self.records, now: Self.now, privacy: Self.privacy, feedback: Self.feedback, generator: &generator))
        #expect(pooled.partners == 2)
        #expect(abs(pooled.l2Sensitivity - 2.0.squareRoot() * 8) < 1e-12)
        let rho = ZeroConcentratedDP.rho(epsilon: 1, delta: Self.privacy.delta)
        #expect(abs(pooled.rho - rho) < 1e-15)
        #expect(abs(pooled.sigma * pooled.sigma - 128 / (2 * rho)) < 1e-3)
        // k distinct customers at the two partners, each at most four invitations there.
        #expect(pooled.threshold == Int64(50 * 2 * 4 - 1) + DiscreteGaussianTail.bound(sigma: pooled.sigma, probability: Self.privacy.thresholdDelta))
        #expect(pooled.items.map(\.item) == ["globex:c02"], "one partner's, below k, below the threshold and outside the window: never shown")
        #expect(pooled.items.first?.partners == 2)
    }

    @Test("the published counts are always noisy, unbiased, with the planned sigma", arguments: [11] as [UInt64])
    func noisy(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var invited: [Double] = []
        var hidden = 0
        for _ in 0..<400 {
            let pooled = try #require(
                PooledAcceptance.compute(records: Self.records, now: Self.now, privacy: Self.privacy, feedback: Self.feedback, generator: &generator))
            #expect(!pooled.items.contains { $0.item != "globex:c02" }, "seed \(seed)")
            guard let item = pooled.items.first else { continue }
            invited.append(Double(item.invited))
            #expect(item.accepted >= 0 && item.accepted <= item.invited)
            if item.invited == 5000 { hidden += 1 }
        }
        let sigma = PooledAcceptance.plan(partners: 2, privacy: Self.privacy, feedback: Self.feedback)!.sigmaSquared.doubleValue.squareRoot()
        let mean = invited.reduce(0, +) / Double(invited.count)
        let deviation = (invited.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(invited.count - 1)).squareRoot()
        #expect(invited.count == 400)
        #expect(abs(mean - 5000) < 5 * sigma / 20, "seed \(seed): mean \(mean)")
        #expect(abs(deviation / sigma - 1) < 0.15, "seed \(seed): deviation \(deviation) against sigma \(sigma)")
        #expect(hidden < 10, "the true count comes out unnoised only by chance")
    }

    @Test("an item is eligible from two partners' reports and k distinct customers' worth of invitations, never less")
    func eligibility() {
        let k = Self.privacy.k
        let m = Self.feedback.maxLinesPerCustomer
        #expect(PooledAcceptance.isEligible(invited: Int64(k * 2 * m), partners: 2, privacy: Self.privacy, feedback: Self.feedback))
        #expect(!PooledAcceptance.isEligible(invited: Int64(k * 2 * m - 1), partners: 2, privacy: Self.privacy, feedback: Self.feedback))
        #expect(!PooledAcceptance.isEligible(invited: 1_000_000, partners: 1, privacy: Self.privacy, feedback: Self.feedback))
        #expect(PooledAcceptance.isEligible(invited: Int64(k * 3 * m), partners: 3, privacy: Self.privacy, feedback: Self.feedback))
        #expect(!PooledAcceptance.isEligible(invited: Int64(k * 3 * m - 1), partners: 3, privacy: Self.privacy, feedback: Self.feedback))
    }

    @Test("a release pools once per window: not while a pooled release of the last pool_days stands")
    func oncePerWindow() throws {
        func record(id: Int64, daysBefore: Int64, pooled: Bool) -> ReleaseRecord {
            ReleaseRecord(
                id: id, createdAt: RFC3339.format(milliseconds: Self.now - daysBefore * 86_400_000), trigger: "test",
                settings: Self.privacy, plan: Self.privacy.plan, summary: ReleaseSummary(), budgetPeriod: "2026-11", epsilonLeft: nil,
                durationMilliseconds: 0,
                pooled: pooled
                    ? PooledAcceptance(
                        windowStart: "", windowEnd: "", rho: 0.1, epsilon: 1, sigma: 1, threshold: 1, l2Sensitivity: 1, partners: 2, items: [])
                    : nil)
        }
        let recent = [record(id: 2, daysBefore: 1, pooled: false), record(id: 1, daysBefore: 27, pooled: true)]
        #expect(!PooledAcceptance.isDue(at: Self.now, releases: recent, privacy: Self.privacy, feedback: Self.feedback))
        let old = [record(id: 2, daysBefore: 1, pooled: false), record(id: 1, daysBefore: 28, pooled: true)]
        #expect(PooledAcceptance.isDue(at: Self.now, releases: old, privacy: Self.privacy, feedback: Self.feedback))
        #expect(!PooledAcceptance.isDue(at: Self.now, releases: [], privacy: PrivacySettings(differentialPrivacy: false), feedback: Self.feedback))
        #expect(PooledAcceptance.latest(in: old, upTo: 2, feedback: Self.feedback)?.rho == 0.1)
        #expect(PooledAcceptance.latest(in: old, upTo: 0, feedback: Self.feedback) == nil)
        let stale = [record(id: 2, daysBefore: 1, pooled: false), record(id: 1, daysBefore: 58, pooled: true)]
        #expect(PooledAcceptance.latest(in: stale, upTo: 2, feedback: Self.feedback) == nil, "older than two windows: no longer steers")
    }

    @Test("the store keeps a pooled acceptance only when no release pooled since its window began and both fit the budget")
    func settling() throws {
        let pooled = PooledAcceptance(
            windowStart: "", windowEnd: "", rho: 0.01, epsilon: 1, sigma: 1, threshold: 1, l2Sensitivity: 1, partners: 2, items: [])
        let release = NewRelease(
            createdAt: Self.now, trigger: "test", settings: Self.privacy, plan: Self.privacy.plan, summary: ReleaseSummary(),
            budgetPeriod: "2026-12", durationMilliseconds: 0,
            table: ReleasedTable(catalog: ReleaseCatalog(partners: [], items: []), pairs: []), pooled: pooled)
        let budget = PrivacyBudget()
        #expect(release.settled(spentRho: 0, pooledSinceWindowStart: false, budget: budget).pooled == pooled)
        #expect(release.settled(spentRho: 0, pooledSinceWindowStart: true, budget: budget).pooled == nil)
        let full = budget.rhoLimit - Self.privacy.plan.rho - 0.005
        #expect(release.settled(spentRho: full, pooledSinceWindowStart: false, budget: budget).pooled == nil)
        #expect(release.settled(spentRho: full, pooledSinceWindowStart: false, budget: budget).chargedRho == Self.privacy.plan.rho)
    }

    @Test("nothing is pooled, and nothing spent, without differential privacy or without outcomes in the window")
    func nothingToPool() {
        var generator = SeededGenerator(seed: 5)
        #expect(
            PooledAcceptance.compute(
                records: Self.records, now: Self.now, privacy: PrivacySettings(k: 50, differentialPrivacy: false), feedback: Self.feedback,
                generator: &generator) == nil)
        #expect(
            PooledAcceptance.compute(
                records: [Self.records.last!], now: Self.now, privacy: Self.privacy, feedback: Self.feedback, generator: &generator) == nil)
        // Reports from one partner only: no item could be published, so nothing is drawn or spent.
        #expect(
            PooledAcceptance.compute(
                records: [Self.records[2], Self.records[4]], now: Self.now, privacy: Self.privacy, feedback: Self.feedback,
                generator: &generator) == nil)
    }
}
