import Testing

@testable import ClearinghouseCore

/// A tiny consortium written out by hand: partners a, b, c with two categories each.
/// Items: 0 a:x, 1 a:y, 2 b:x, 3 b:y, 4 c:x, 5 c:y.
private let catalog = ReleaseCatalog(
    partners: ["a", "b", "c"],
    items: [
        .init(partner: 0, category: "x"), .init(partner: 0, category: "y"),
        .init(partner: 1, category: "x"), .init(partner: 1, category: "y"),
        .init(partner: 2, category: "x"), .init(partner: 2, category: "y"),
    ])

private func columns(_ signals: [(person: Int32, item: Int32, weight: Double)]) -> SignalColumns {
    var columns = SignalColumns()
    for signal in signals { columns.append(person: signal.person, item: signal.item, weight: signal.weight) }
    return columns
}

@Suite("Affinity counting on hand-computed consortia")
struct AffinityCounterTests {
    @Test("overlaps, item counts and pair counts of persons at 1, 2 and 3 partners", arguments: [1, 2])
    func handComputed(workers: Int) {
        var input = columns([
            // person 0: a:x, b:y (two signals of b:y)
            (0, 0, 1), (0, 3, 1), (0, 3, 2),
            // person 1: a:x, b:y, c:x  (three partners)
            (1, 0, 1), (1, 3, 1), (1, 4, 1),
            // person 2: a:y only (one partner: in no count)
            (2, 1, 5),
            // person 5: b:x, c:x
            (5, 2, 1), (5, 4, 1),
        ])
        let counts = AffinityCounter.count(
            &input, catalog: catalog, bounds: .init(itemsPerPartner: 3, partnersPerPerson: 3), workers: workers)
        #expect(counts.persons == 4)
        #expect(counts.personsAtSeveralPartners == 3)
        #expect(counts.overlap(0, 1) == 2)  // persons 0, 1
        #expect(counts.overlap(0, 2) == 1)  // person 1
        #expect(counts.overlap(1, 2) == 2)  // persons 1, 5
        #expect(counts.itemWithin(0, partner: 1) == 2)  // a:x among a&b
        #expect(counts.itemWithin(1, partner: 1) == 0)  // a:y's person is at a only
        #expect(counts.itemWithin(3, partner: 0) == 2)
        #expect(counts.itemWithin(4, partner: 1) == 2)
        #expect(counts.pair(0, 3) == 2)  // a:x & b:y
        #expect(counts.pair(0, 4) == 1)
        #expect(counts.pair(3, 4) == 1)
        #expect(counts.pair(2, 4) == 1)
        #expect(counts.pair(0, 1) == 0)  // a:x & a:y: no person of a has both
        #expect(counts.nonZeroPairs == 4)
        // Each partner's own cells count every person there, at one partner or several.
        #expect(counts.ownPersons == [3, 3, 2])
        #expect(counts.ownItemPersons == [2, 1, 1, 2, 2, 0])
        var own = 0
        counts.forEachOwnPair { _, _, _ in own += 1 }
        #expect(own == 0)
        #expect(input.count == 0, "the columns are consumed")
    }

    @Test("bounding keeps the heaviest partners and items; ties go to the lower id")
    func boundingAndTies() {
        var input = columns([
            // person 0 at a (weight 3), b (weight 3), c (weight 5): keep c, then a (tie with b -> lower id)
            (0, 0, 3), (0, 2, 1), (0, 3, 2), (0, 4, 5),
            // person 1 at a with two items tied (x, y weight 2) and b: keep a:x (lower id)
            (1, 0, 2), (1, 1, 2), (1, 2, 1),
        ])
        let counts = AffinityCounter.count(
            &input, catalog: catalog, bounds: .init(itemsPerPartner: 1, partnersPerPerson: 2), workers: 1)
        #expect(counts.overlap(0, 2) == 1)
        #expect(counts.overlap(0, 1) == 1)  // person 1 only; person 0 dropped b on the tie
        #expect(counts.overlap(1, 2) == 0)
        #expect(counts.pair(0, 4) == 1)
        #expect(counts.pair(0, 2) == 1)  // person 1: a:x kept over a:y
        #expect(counts.pair(1, 2) == 0)
        #expect(counts.itemWithin(1, partner: 1) == 0)
    }

    @Test("own cells keep the top L items at each partner and ignore the partners-per-person bound")
    func ownCellsArePartnerLocal() {
        var input = columns([
            // person 0: a:x, a:y (light), c:x (heaviest): with one partner per person only c is
            // kept for cross-brand cells, but a's own cells still see a:x and a:y together.
            (0, 0, 1), (0, 1, 1), (0, 4, 9),
            // person 1: a:x (weight 3), a:y (1) with L = 1: only a:x counts at a.
            (1, 0, 3), (1, 1, 1),
        ])
        let counts = AffinityCounter.count(
            &input, catalog: catalog, bounds: .init(itemsPerPartner: 2, partnersPerPerson: 1), workers: 1)
        #expect(counts.personsAtSeveralPartners == 0)
        #expect(counts.ownPersons == [2, 0, 1])
        #expect(counts.pair(0, 1) == 2)
        var single = input
        single = columns([(1, 0, 3), (1, 1, 1)])
        let bounded = AffinityCounter.count(
            &single, catalog: catalog, bounds: .init(itemsPerPartner: 1, partnersPerPerson: 3), workers: 1)
        #expect(bounded.ownItemPersons == [1, 0, 0, 0, 0, 0])
        #expect(bounded.pair(0, 1) == 0)
    }

    @Test("the sparse pair map counts exactly like the dense matrix")
    func sparseMatchesDense() {
        let partners = 3
        let perPartner = PairCounts.denseItemLimit / partners + 1
        let big = ReleaseCatalog(
            partners: ["a", "b", "c"],
            items: (0..<(partners * perPartner)).map { .init(partner: $0 / perPartner, category: "c\($0 % perPartner)") })
        var generator = SeededGenerator(seed: 3)
        var signals: [(Int32, Int32, Double)] = []
        for person in 0..<300 {
            for _ in 0..<4 {
                signals.append((Int32(person), Int32(generator.next() % UInt64(big.items.count)), 1))
            }
        }
        var sparseInput = columns(signals.map { ($0.0, $0.1, $0.2) })
        let sparse = AffinityCounter.count(&sparseInput, catalog: big, bounds: .init(itemsPerPartner: 3, partnersPerPerson: 3))
        #expect(!sparse.pairs.isDense)
        // The same persons, items renumbered into a small catalog per partner (first 10 ids).
        var expected: [String: Int64] = [:]
        var byPerson: [Int32: Set<Int32>] = [:]
        for signal in signals { byPerson[signal.0, default: []].insert(signal.1) }
        for items in byPerson.values {
            let sorted = items.sorted()
            for (i, x) in sorted.enumerated() {
                for y in sorted[(i + 1)...] where big.items[Int(x)].partner != big.items[Int(y)].partner {
                    expected["\(x)-\(y)", default: 0] += 1
                }
            }
        }
        var seen: [String: Int64] = [:]
        sparse.forEachPair { x, y, count in seen["\(x)-\(y)"] = count }
        #expect(seen == expected)
    }
}
