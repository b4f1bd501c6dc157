import Foundation
import Testing

@testable import ClearinghouseCore

/// Random consortia for property tests: persons at 1-4 of `partners` partners.
private func randomConsortium(seed: UInt64, persons: Int, partners: Int, categories: Int)
    -> (ReleaseCatalog, SignalColumns)
{
    var generator = SeededGenerator(seed: seed)
    let catalog = ReleaseCatalog(
        partners: (0..<partners).map { "p\($0)" },
        items: (0..<(partners * categories)).map { .init(partner: $0 / categories, category: "c\($0 % categories)") })
    var columns = SignalColumns()
    for person in 0..<persons {
        let memberships = 1 + Int(generator.next() % 4)
        for _ in 0..<memberships {
            let partner = Int(generator.next() % UInt64(partners))
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                // Skewed categories, so some cells are large and some tiny.
                let category = Int(generator.next() % UInt64(categories)) * Int(generator.next() % 2)
                columns.append(
                    person: Int32(person), item: Int32(partner * categories + category),
                    weight: Double(1 + generator.next() % 3))
            }
        }
    }
    return (catalog, columns)
}

@Suite("Privacy guard: threshold, noise, budget")
struct PrivacyGuardTests {
    @Test("every released count has a true count of at least k and a noisy count over the threshold", arguments: [1, 2, 3, 4, 5, 6])
    func thresholdHolds(seed: UInt64) {
        for dp in [true, false] {
            var (catalog, columns) = randomConsortium(seed: seed, persons: 3000, partners: 4, categories: 6)
            let settings = PrivacySettings(k: 10 + Int(seed) * 5, differentialPrivacy: dp, epsilon: 8)
            let signals = columns.count
            let counts = AffinityCounter.count(&columns, catalog: catalog, bounds: settings.bounds)
            var generator = SeededGenerator(seed: seed &* 77)
            let (table, summary) = ReleaseBuilder.build(
                counts: counts, catalog: catalog, settings: settings, signals: signals, generator: &generator)
            let k = Int64(settings.k)
            let threshold = settings.plan.threshold
            for pair in table.pairs {
                let a = catalog.items[Int(pair.x)].partner, b = catalog.items[Int(pair.y)].partner
                #expect(counts.pair(Int(pair.x), Int(pair.y)) >= k)
                #expect(counts.itemWithin(Int(pair.x), partner: b) >= k)
                #expect(counts.itemWithin(Int(pair.y), partner: a) >= k)
                #expect(counts.overlap(a, b) >= k)
                #expect([pair.both, pair.xWithin, pair.yWithin, pair.overlap].allSatisfy { $0 >= threshold })
                if !dp { #expect(pair.both == counts.pair(Int(pair.x), Int(pair.y))) }
            }
            #expect(summary.pairsReleased == table.pairs.count)
            #expect(summary.pairsReleased + summary.pairsSuppressed == counts.nonZeroPairs)
            if !dp { #expect(summary.pairsReleased > 0, "the property must be checked on some released pairs") }
        }
    }

    @Test("a cohort of k-1 persons never shows; k persons show without noise", arguments: [false, true])
    func kMinusOneNeverShows(dp: Bool) {
        let k = 20
        let catalog = ReleaseCatalog(
            partners: ["a", "b"], items: [.init(partner: 0, category: "x"), .init(partner: 1, category: "y")])
        for size in [k - 1, k] {
            for seed in 0..<200 as Range<UInt64> {
                var columns = SignalColumns()
                for person in 0..<size {
                    columns.append(person: Int32(person), item: 0, weight: 1)
                    columns.append(person: Int32(person), item: 1, weight: 1)
                }
                // Epsilon so large the noise is tiny: only the true-count rule can hide k-1.
                let settings = PrivacySettings(k: k, differentialPrivacy: dp, epsilon: 100, delta: 1e-4, thresholdDelta: 1e-4)
                let counts = AffinityCounter.count(&columns, catalog: catalog, bounds: settings.bounds)
                var generator = SeededGenerator(seed: seed)
                let (table, _) = ReleaseBuilder.build(
                    counts: counts, catalog: catalog, settings: settings, signals: size * 2, generator: &generator)
                if size < k { #expect(table.pairs.isEmpty) }
                if size == k && !dp { #expect(table.pairs.count == 1) }
                if !dp { break }
            }
        }
    }

    @Test("the noise never reads the counts: the same seed adds the same noise to other data; two releases differ")
    func noiseIndependentOfData() {
        // Three partners of three items, every person everywhere: every cell is released.
        let catalog = ReleaseCatalog(
            partners: ["a", "b", "c"], items: (0..<9).map { .init(partner: $0 / 3, category: "c\($0 % 3)") })
        func counts(persons: Int) -> AffinityCounts {
            var columns = SignalColumns()
            for person in 0..<persons {
                for item in 0..<9 { columns.append(person: Int32(person), item: Int32(item), weight: 1) }
            }
            return AffinityCounter.count(&columns, catalog: catalog, bounds: PrivacySettings().bounds)
        }
        func offsets(_ counts: AffinityCounts, seed: UInt64) -> [Int64] {
            var generator = SeededGenerator(seed: seed)
            let table = ReleaseBuilder.build(
                counts: counts, catalog: catalog, settings: PrivacySettings(), signals: 0, generator: &generator
            ).table
            return table.pairs.map { $0.both - counts.pair(Int($0.x), Int($0.y)) }
        }
        let small = counts(persons: 2000), large = counts(persons: 3000)
        #expect(offsets(small, seed: 1).count == 27 && offsets(large, seed: 1).count == 27)
        #expect(offsets(small, seed: 1) == offsets(large, seed: 1))
        #expect(offsets(small, seed: 1) != offsets(small, seed: 2))
        // The daemon's generator: a release draws afresh, never reusing another's noise.
        var system = KernelRandom()
        let first = ReleaseBuilder.build(counts: small, catalog: catalog, settings: PrivacySettings(), signals: 0, generator: &system)
        let second = ReleaseBuilder.build(counts: small, catalog: catalog, settings: PrivacySettings(), signals: 0, generator: &system)
        #expect(first.table.pairs.map(\.both) != second.table.pairs.map(\.both))
    }

    @Test("zCDP conversions round-trip and the budget refuses what does not fit")
    func accounting() {
        for epsilon in [0.1, 1, 3, 10] {
            let rho = ZeroConcentratedDP.rho(epsilon: epsilon, delta: 1e-6)
            #expect(abs(ZeroConcentratedDP.epsilon(rho: rho, delta: 1e-6) - epsilon) < 1e-9)
        }
        let budget = PrivacyBudget()
        let cost = ZeroConcentratedDP.rho(epsilon: 1, delta: 1e-6)
        // The defaults: 31 daily releases at epsilon 1 fit in epsilon 6.5 per month under zCDP
        // composition (plain addition of epsilons would allow only 6).
        #expect(budget.epsilonPerPeriod == 6.5)
        #expect(budget.allows(cost: cost, spent: 30 * cost))
        #expect(!budget.allows(cost: cost, spent: 36 * cost))
        #expect(budget.epsilonLeft(spentRho: 0) == 6.5)
        #expect(PrivacyBudget.Period.month.key(at: 1_795_000_000_000) == "2026-11")
        #expect(PrivacyBudget.Period.day.key(at: 1_795_000_000_000) == "2026-11-18")
        #expect(PrivacySettings(k: 9).problem != nil)
    }

    @Test("released tables survive encoding; corrupt blobs are refused")
    func codec() throws {
        var (catalog, columns) = randomConsortium(seed: 9, persons: 2000, partners: 3, categories: 4)
        let counts = AffinityCounter.count(&columns, catalog: catalog, bounds: .init(itemsPerPartner: 3, partnersPerPerson: 3))
        var generator = SeededGenerator(seed: 1)
        let (table, _) = ReleaseBuilder.build(
            counts: counts, catalog: catalog, settings: PrivacySettings(k: 10, differentialPrivacy: false), signals: 0,
            generator: &generator)
        #expect(!table.pairs.isEmpty)
        let bytes = table.encoded()
        #expect(try ReleasedTable(encoded: bytes) == table)
        #expect(throws: ReleaseDecodingError.self) { try ReleasedTable(encoded: Array(bytes.dropLast())) }
        #expect(throws: ReleaseDecodingError.self) { try ReleasedTable(encoded: [0] + bytes.dropFirst()) }
    }

    @Test("a partner sees only pairs with its own item, sorted by lift")
    func visibility() {
        var (catalog, columns) = randomConsortium(seed: 11, persons: 4000, partners: 3, categories: 4)
        let counts = AffinityCounter.count(&columns, catalog: catalog, bounds: .init(itemsPerPartner: 3, partnersPerPerson: 3))
        var generator = SeededGenerator(seed: 1)
        let (table, _) = ReleaseBuilder.build(
            counts: counts, catalog: catalog, settings: PrivacySettings(k: 10, differentialPrivacy: false), signals: 0,
            generator: &generator)
        for partner in catalog.partners {
            let seen = table.affinities(partner: partner, category: nil, limit: 10_000, bucketWidth: nil) ?? []
            #expect(!seen.isEmpty)
            #expect(seen.allSatisfy { $0.partner != partner })
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.lift >= $1.lift })
            let own = table.pairs.filter {
                catalog.partners[catalog.items[Int($0.x)].partner] == partner
                    || catalog.partners[catalog.items[Int($0.y)].partner] == partner
            }
            #expect(seen.count == own.count)
        }
        #expect(table.affinities(partner: "nobody", category: nil, limit: 10, bucketWidth: nil) == nil)
    }
}

@Suite("Store policy")
struct StorePolicyTests {
    @Test("consent merge: the later grant wins, a tie replaces, dropping affinity erases signals")
    func consentMerge() {
        let affinity = Purpose.affinity.bit
        #expect(ConsentMerge.decide(stored: nil, incomingGrantedAt: 5, incomingPurposes: affinity) == .create)
        #expect(ConsentMerge.decide(stored: (10, affinity), incomingGrantedAt: 5, incomingPurposes: affinity) == .supersede)
        #expect(ConsentMerge.decide(stored: (10, affinity), incomingGrantedAt: 10, incomingPurposes: affinity) == .replace(erasesSignals: false))
        #expect(ConsentMerge.decide(stored: (10, affinity), incomingGrantedAt: 11, incomingPurposes: 0) == .replace(erasesSignals: true))
        #expect(ConsentMerge.decide(stored: (10, 0), incomingGrantedAt: 11, incomingPurposes: 0) == .replace(erasesSignals: false))
    }

    @Test("live consent: affinity and not expired; it expires at expires_at exactly")
    func liveConsent() {
        let affinity = Purpose.affinity.bit
        #expect(LiveConsent.isLive(purposes: affinity, expiresAt: nil, at: 100))
        #expect(LiveConsent.isLive(purposes: affinity, expiresAt: 101, at: 100))
        #expect(!LiveConsent.isLive(purposes: affinity, expiresAt: 100, at: 100))
        #expect(!LiveConsent.isLive(purposes: 0, expiresAt: nil, at: 100))
        #expect(LiveConsent.sql(alias: "c", now: "?1").contains("c.expires_at > ?1"))
    }

    @Test("the budget admits what fits and refuses the release past it, saying what is left")
    func budgetAdmission() throws {
        let budget = PrivacyBudget(epsilonPerPeriod: 2, period: .month, delta: 1e-6)
        let limit = budget.rhoLimit
        #expect(try budget.admit(rho: limit / 2, spentRho: limit / 2, period: "2026-11", epsilonNeeded: 1) < 1e-9)
        #expect(throws: ReleaseError.self) { try budget.admit(rho: limit / 2, spentRho: limit * 0.6, period: "2026-11", epsilonNeeded: 1) }
    }

    @Test("ledger entries follow the head with canonical details, whatever built them")
    func ledgerFollowing() throws {
        let first = try LedgerEntry.following(nil, action: .purge, partner: nil, details: ["b": 1, "a": 2], at: 7)
        #expect(first.sequence == 1 && first.previousHash == LedgerEntry.genesisHash && first.details == #"{"a":2,"b":1}"#)
        let second = try LedgerEntry.following(LedgerHead(first), action: .purge, partner: "acme", details: ["x": "a/b"], at: 8)
        #expect(second.sequence == 2 && second.previousHash == first.hash && second.details == #"{"x":"a/b"}"#)
        #expect(LedgerHead(text: LedgerHead(second).text) == LedgerHead(second))
        #expect(LedgerHead(text: "garbage").sequence == -1)
    }
}
