/// The released pairs of one release, with the catalog to name them: what is stored, served
/// and exported. It holds only guarded counts, so it may be read any number of times.
///
/// Lookups by item are precomputed once (pairs of each item sorted by lift), so serving a
/// partner's request is a slice of an array.
public struct ReleasedTable: Sendable, Equatable {
    public let catalog: ReleaseCatalog
    /// Cross-brand pairs: x and y of different partners.
    public let pairs: [ReleasedPair]
    /// Each partner's own pairs, x < y both of one partner A, counted from A's signals alone:
    /// `both` = n_XZ, `xWithin` = n_X at A, `yWithin` = n_Z at A, `overlap` = N_A. Only A may
    /// read them; they are the "direct association" the surprise ranking compares against.
    public let ownPairs: [ReleasedPair]
    /// n_X at X's own partner, from that partner's signals alone; 0 when below k. Only X's
    /// partner may read it (its own best sellers: the popularity baseline of "try instead").
    public let ownItemPersons: [Int64]
    /// N_A, persons with signals at partner A; 0 when below k. Only A may read it.
    public let ownPartnerPersons: [Int64]
    /// For each item, indices into `pairs` of its pairs, by lift (highest first).
    let pairsOfItem: [[Int32]]

    public init(
        catalog: ReleaseCatalog, pairs: [ReleasedPair], ownPairs: [ReleasedPair] = [], ownItemPersons: [Int64]? = nil,
        ownPartnerPersons: [Int64]? = nil
    ) {
        self.catalog = catalog
        self.pairs = pairs
        self.ownPairs = ownPairs
        self.ownItemPersons = ownItemPersons ?? Array(repeating: 0, count: catalog.items.count)
        self.ownPartnerPersons = ownPartnerPersons ?? Array(repeating: 0, count: catalog.partners.count)
        var byItem = [[Int32]](repeating: [], count: catalog.items.count)
        for (index, pair) in pairs.enumerated() {
            byItem[Int(pair.x)].append(Int32(index))
            byItem[Int(pair.y)].append(Int32(index))
        }
        let lifts = pairs.map(\.lift)
        for item in byItem.indices {
            byItem[item].sort { lifts[Int($0)] != lifts[Int($1)] ? lifts[Int($0)] > lifts[Int($1)] : $0 < $1 }
        }
        pairsOfItem = byItem
    }

    public static func == (lhs: ReleasedTable, rhs: ReleasedTable) -> Bool {
        lhs.catalog == rhs.catalog && lhs.pairs == rhs.pairs && lhs.ownPairs == rhs.ownPairs
            && lhs.ownItemPersons == rhs.ownItemPersons && lhs.ownPartnerPersons == rhs.ownPartnerPersons
    }

    /// The affinities a partner may see: its own items (all, or the one `category`) against
    /// other brands' items, by lift. `nil` when the partner or category is not in the release.
    public func affinities(partner: String, category: String?, limit: Int, bucketWidth: Int64?) -> [Affinity]? {
        guard let own = catalog.items(of: partner, category: category) else { return nil }
        if category != nil && own.isEmpty { return nil }
        var answer: [Affinity] = []
        for item in own {
            for index in pairsOfItem[item] {
                let pair = pairs[Int(index)]
                let ownIsX = Int(pair.x) == item
                let other = Int(ownIsX ? pair.y : pair.x)
                answer.append(
                    Affinity(
                        category: catalog.items[item].category,
                        partner: catalog.partners[catalog.items[other].partner],
                        otherCategory: catalog.items[other].category,
                        n: Self.bucket(pair.both, bucketWidth),
                        nCategory: Self.bucket(ownIsX ? pair.xWithin : pair.yWithin, bucketWidth),
                        lift: pair.lift, confidence: pair.confidence(fromX: ownIsX), pmi: pair.pmi))
            }
        }
        if own.count > 1 {
            answer.sort { $0.lift != $1.lift ? $0.lift > $1.lift : ($0.category, $0.item) < ($1.category, $1.item) }
        }
        return Array(answer.prefix(limit))
    }

    static func bucket(_ value: Int64, _ width: Int64?) -> Int64 {
        guard let width, width > 1 else { return value }
        return value / width * width
    }
}

/// One affinity as a partner sees it: its own category against another brand's item.
public struct Affinity: Sendable, Codable, Equatable {
    /// The partner's own category.
    public var category: String
    /// The other brand and its category.
    public var partner: String
    public var otherCategory: String
    /// n_XY: persons with both (noisy, or bucketed when the release has no noise).
    public var n: Int64
    /// n_X|AB: persons of the partner's category inside the overlap with the other brand.
    public var nCategory: Int64
    public var lift: Double
    /// n_XY / n_X|AB: of the partner's customers of `category` who shop at the other brand,
    /// the share who have `item`.
    public var confidence: Double
    public var pmi: Double

    /// `partner:category` of the other brand's item.
    public var item: String { "\(partner):\(otherCategory)" }

    public init(
        category: String, partner: String, otherCategory: String, n: Int64, nCategory: Int64, lift: Double,
        confidence: Double, pmi: Double
    ) {
        self.category = category
        self.partner = partner
        self.otherCategory = otherCategory
        self.n = n
        self.nCategory = nCategory
        self.lift = lift
        self.confidence = confidence
        self.pmi = pmi
    }

    enum CodingKeys: String, CodingKey {
        case category, partner, n, lift, confidence, pmi
        case otherCategory = "other_category"
        case nCategory = "n_category"
    }
}
