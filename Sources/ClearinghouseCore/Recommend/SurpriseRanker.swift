import Foundation

/// Ranks a stored release's pairs by surprise for one partner: relevant and unexpected.
///
/// Post-processing only: it reads the released counts a partner may see (cross-brand pairs
/// with one side its own, and its own pairs), so it costs no privacy budget and touches no
/// raw data. The scores are documented in docs/releases.md ("Surprise recommendations"):
///
/// - cross, for the partner's item X and another brand's item Y:
///   `score = log2 lift(X, Y) * novelty(Y)`, with `novelty(Y) = -log2(n_Y|AB / N_AB)`, times
///   `baselineDemotion` when the popularity baseline lists Y too; only lift >= `minimumLift`.
/// - instead, for X and the partner's own item Z: the sum over bridging items Y of
///   `min(log2 lift(X, Y), log2 lift(Z, Y))` (both links at least `minimumLift`), times
///   `baselineDemotion` when Z is one of the partner's best sellers; only Z whose direct
///   lift(X, Z) in the partner's own data is at most `maximumDirectLift` or below k.
///
/// The popularity baseline ("primitive recommender", after Murakami et al. and Ge et al.) is
/// the `limit` most popular candidates: for cross, X's released partners Y by n_Y|AB / N_AB;
/// for instead, the partner's own items by n_Z / N_A.
public struct SurpriseRanker: Sendable {
    public let table: ReleasedTable
    public let settings: RecommendationSettings

    public init(table: ReleasedTable, settings: RecommendationSettings) {
        self.table = table
        self.settings = settings
    }

    public enum Failure: Error, Equatable {
        /// The partner has no item in the release, or not that category.
        case categoryNotFound
        /// The release predates partners' own counts (stored before version 2).
        case noOwnCounts
    }

    /// The lists of `kind` for the partner's items (all, or the one `category`).
    /// `baselineLength`: the popularity baseline's length when it is not the one `limit` calls
    /// for (the learning policy ranks every candidate, then keeps a list's worth).
    public func recommendations(
        partner: String, category: String?, kind: RecommendationKind, limit: Int, baselineLength: Int? = nil
    ) -> Result<[RecommendationList], Failure> {
        let baselineLength = baselineLength ?? settings.baselineLength(limit: limit)
        let catalog = table.catalog
        guard let partnerIndex = catalog.partners.firstIndex(of: partner), let own = catalog.items(of: partner, category: category)
        else { return .failure(.categoryNotFound) }
        if own.isEmpty || (category != nil && own.allSatisfy { table.pairsOfItem[$0].isEmpty }) {
            return .failure(.categoryNotFound)
        }
        switch kind {
        case .cross:
            return .success(own.map { cross(for: $0, limit: limit, baselineLength: baselineLength) })
        case .instead:
            guard table.ownPartnerPersons[partnerIndex] > 0 else { return .failure(.noOwnCounts) }
            let context = InsteadContext(table: table, partner: partnerIndex)
            return .success(own.map { instead(for: $0, context: context, limit: limit, baselineLength: baselineLength) })
        }
    }

    private func name(_ item: Int) -> (item: String, partner: String, category: String) {
        let entry = table.catalog.items[item]
        let partner = table.catalog.partners[entry.partner]
        return ("\(partner):\(entry.category)", partner, entry.category)
    }

    // MARK: cross

    private struct CrossCandidate {
        let other: Int
        let pair: ReleasedPair
        let ownIsX: Bool
        var popularity: Double { Double(ownIsX ? pair.yWithin : pair.xWithin) / Double(pair.overlap) }
        var novelty: Double { -log2(popularity) }
    }

    func cross(for item: Int, limit: Int, baselineLength: Int) -> RecommendationList {
        let candidates = table.pairsOfItem[item].map { index -> CrossCandidate in
            let pair = table.pairs[Int(index)]
            let ownIsX = Int(pair.x) == item
            return CrossCandidate(other: Int(ownIsX ? pair.y : pair.x), pair: pair, ownIsX: ownIsX)
        }
        let baseline = Array(
            candidates.sorted {
                $0.popularity != $1.popularity ? $0.popularity > $1.popularity : $0.other < $1.other
            }.prefix(baselineLength))
        let inBaseline = Set(baseline.map(\.other))
        var scored: [(candidate: CrossCandidate, score: Double)] = []
        for candidate in candidates where candidate.pair.lift >= settings.minimumLift {
            let demotion = inBaseline.contains(candidate.other) ? settings.baselineDemotion : 1
            scored.append((candidate, log2(candidate.pair.lift) * candidate.novelty * demotion))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.candidate.other < $1.candidate.other }
        let suggestions = scored.prefix(limit).enumerated().map { rank, entry -> Suggestion in
            let (candidate, score) = entry
            let named = name(candidate.other)
            return Suggestion(
                rank: rank + 1, item: named.item, partner: named.partner, category: named.category, score: score,
                lift: candidate.pair.lift, confidence: candidate.pair.confidence(fromX: candidate.ownIsX),
                count: ReleasedTable.bucket(candidate.pair.both, 10), novelty: candidate.novelty,
                inBaseline: inBaseline.contains(candidate.other), bridges: nil)
        }
        return RecommendationList(
            category: table.catalog.items[item].category, suggestions: suggestions,
            unexpectedness: Self.unexpectedness(suggestions), meanNovelty: Self.mean(suggestions.map(\.novelty)),
            baseline: Baseline(
                items: baseline.map { name($0.other).item }, meanNovelty: Self.mean(baseline.map { $0.novelty }),
                meanLift: Self.mean(baseline.map { $0.pair.lift })))
    }

    // MARK: instead

    /// The partner's own pairs and items, looked up once per request.
    struct InsteadContext {
        let partner: Int
        let ownItems: [Int]
        let ownPairs: [Int: ReleasedPair]
        let persons: Int64

        init(table: ReleasedTable, partner: Int) {
            self.partner = partner
            ownItems = table.catalog.items.indices.filter { table.catalog.items[$0].partner == partner }
            var pairs: [Int: ReleasedPair] = [:]
            let itemCount = table.catalog.items.count
            for pair in table.ownPairs where table.catalog.items[Int(pair.x)].partner == partner {
                pairs[Int(pair.x) * itemCount + Int(pair.y)] = pair
            }
            ownPairs = pairs
            persons = table.ownPartnerPersons[partner]
        }
    }

    private func ownNovelty(_ item: Int, _ context: InsteadContext) -> Double {
        let count = table.ownItemPersons[item]
        // An item with a released cross pair has at least k persons at its own partner.
        return count > 0 ? -log2(Double(count) / Double(context.persons)) : log2(Double(context.persons))
    }

    /// lift(item, Y) and n_itemY of every cross-brand Y with lift at least the minimum.
    private func strongLinks(of item: Int) -> [Int: (lift: Double, count: Int64)] {
        var links: [Int: (lift: Double, count: Int64)] = [:]
        for index in table.pairsOfItem[item] {
            let pair = table.pairs[Int(index)]
            guard pair.lift >= settings.minimumLift else { continue }
            links[Int(pair.x) == item ? Int(pair.y) : Int(pair.x)] = (pair.lift, pair.both)
        }
        return links
    }

    func instead(for item: Int, context: InsteadContext, limit: Int, baselineLength: Int) -> RecommendationList {
        let itemCount = table.catalog.items.count
        let fromLinks = strongLinks(of: item)
        let baseline = Array(
            context.ownItems.filter { $0 != item && table.ownItemPersons[$0] > 0 }.sorted {
                table.ownItemPersons[$0] != table.ownItemPersons[$1]
                    ? table.ownItemPersons[$0] > table.ownItemPersons[$1] : $0 < $1
            }.prefix(baselineLength))
        let inBaseline = Set(baseline)
        var scored: [(item: Int, score: Double, direct: ReleasedPair?, bridges: [(Double, Bridge)])] = []
        for other in context.ownItems where other != item {
            let direct = context.ownPairs[min(item, other) * itemCount + max(item, other)]
            if let direct, direct.lift > settings.maximumDirectLift { continue }
            var bridges: [(Double, Bridge)] = []
            for (bridgeItem, toLink) in strongLinks(of: other) {
                guard let fromLink = fromLinks[bridgeItem] else { continue }
                bridges.append(
                    (min(log2(fromLink.lift), log2(toLink.lift)),
                     Bridge(
                        item: name(bridgeItem).item, liftFrom: fromLink.lift, liftTo: toLink.lift,
                        countFrom: ReleasedTable.bucket(fromLink.count, 10), countTo: ReleasedTable.bucket(toLink.count, 10))))
            }
            guard !bridges.isEmpty else { continue }
            bridges.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.item < $1.1.item }
            let strength = bridges.reduce(0) { $0 + $1.0 }
            scored.append((other, strength * (inBaseline.contains(other) ? settings.baselineDemotion : 1), direct, bridges))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
        let suggestions = scored.prefix(limit).enumerated().map { rank, entry -> Suggestion in
            let named = name(entry.item)
            let directFromX = entry.direct.map { Int($0.x) == item }
            return Suggestion(
                rank: rank + 1, item: named.item, partner: named.partner, category: named.category, score: entry.score,
                lift: entry.direct?.lift, confidence: entry.direct.map { $0.confidence(fromX: directFromX!) },
                count: entry.direct.map { ReleasedTable.bucket($0.both, 10) }, novelty: ownNovelty(entry.item, context),
                inBaseline: inBaseline.contains(entry.item), bridges: Array(entry.bridges.prefix(3).map(\.1)))
        }
        return RecommendationList(
            category: table.catalog.items[item].category, suggestions: suggestions,
            unexpectedness: Self.unexpectedness(suggestions), meanNovelty: Self.mean(suggestions.map(\.novelty)),
            baseline: Baseline(
                items: baseline.map { name($0).item }, meanNovelty: Self.mean(baseline.map { ownNovelty($0, context) }),
                meanLift: nil))
    }

    // MARK: list measures

    static func unexpectedness(_ suggestions: [Suggestion]) -> Double? {
        suggestions.isEmpty ? nil : Double(suggestions.filter { !$0.inBaseline }.count) / Double(suggestions.count)
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
