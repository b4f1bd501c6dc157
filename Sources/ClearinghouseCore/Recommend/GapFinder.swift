import Foundation

/// Data mining in reverse: for a partner's item X, the other brands' audiences Y in which X
/// is bought less than in the overlap as a whole, ranked by the customers missing.
///
/// Inside the overlap of partners A (X's) and B (Y's), X's buyers are a share
/// p = n_X|AB / N_AB. Were Y's buyers like the rest, n_Y|AB * p of them would buy X; the
/// missing customers are that expectation minus n_XY. Everything is computed from released
/// counts (post-processing: no new privacy cost), and a partner gets gaps only for its own
/// items, from numbers it could derive from its own affinities (n_XY / lift is the same
/// expectation).
///
/// Released counts are noisy and are samples, so a gap is listed only when the shortfall
/// stands `z` standard errors clear (one-sided, 95% by default): the noise of n_XY and of the
/// three counts behind the expectation (each sigma, propagated to first order) plus the
/// binomial sampling error of n_XY under "Y's buyers buy X at the overlap's rate". The
/// standard error itself is not published: it depends on n_Y|AB and N_AB one by one, which a
/// partner knows only as a ratio; a gap says instead whether it stands clear at 95% or 99.9%.
///
/// A pair that was suppressed is evidence too: when n_X|AB, n_Y|AB and N_AB were released (by
/// other pairs) and the expectation stands far above what a suppressed count can be (below
/// the threshold, plus z sigma of noise), X is missing from Y's audience; the gap is listed
/// with `basis` `suppressed` and the missing customers counted from that upper bound.
public struct GapFinder: Sendable {
    public static let defaultZ = 1.645  // one-sided 95%
    /// One-sided 99.9%: a gap this far clear is published with confidence 0.999.
    static let strongZ = 3.09

    let table: ReleasedTable
    let sigma: Double
    let threshold: Int64
    let k: Int64
    let z: Double
    /// Counts shown to partners of a release without noise are rounded down to tens.
    let bucketWidth: Int64?
    /// What the audience buys instead: the partner's items with at least this lift toward it.
    let minimumLift: Double

    public init(
        table: ReleasedTable, record: ReleaseRecord, z: Double = GapFinder.defaultZ,
        minimumLift: Double = RecommendationSettings().minimumLift
    ) {
        self.table = table
        self.minimumLift = minimumLift
        sigma = record.settings.differentialPrivacy ? record.plan.sigma : 0
        threshold = record.plan.threshold
        k = Int64(record.settings.k)
        self.z = z
        bucketWidth = record.partnerBucketWidth
    }

    public enum Failure: Error, Equatable { case categoryNotFound }

    /// The gaps of `partner`'s items (all, or the one `category`), at most `limit` per item.
    public func gaps(partner: String, category: String?, limit: Int) -> Result<[GapList], Failure> {
        let catalog = table.catalog
        guard let own = catalog.items(of: partner, category: category), !own.isEmpty else { return .failure(.categoryNotFound) }
        let known = KnownCounts(table)
        return .success(own.map { item in
            GapList(category: catalog.items[item].category, gaps: Array(gaps(of: item, known: known).prefix(limit)))
        })
    }

    /// Every gap of item `x`, most missing customers first.
    func gaps(of x: Int, known: KnownCounts) -> [Gap] {
        let catalog = table.catalog
        let a = catalog.items[x].partner
        var found: [Gap] = []
        for y in catalog.items.indices where catalog.items[y].partner != a {
            let b = catalog.items[y].partner
            guard let nx = known.within[KnownCounts.key(x, b)], let ny = known.within[KnownCounts.key(y, a)],
                let nab = known.overlap[KnownCounts.key(min(a, b), max(a, b))], nab > 0
            else { continue }
            let (nxD, nyD, nabD) = (Double(nx), Double(ny), Double(nab))
            let rate = nxD / nabD
            let expected = nyD * rate
            // First-order noise of the expectation: each of its three counts carries sigma.
            let expectationNoise = expected * sigma * (1 / (nxD * nxD) + 1 / (nyD * nyD) + 1 / (nabD * nabD)).squareRoot()
            let sampling = (expected * max(0, 1 - rate)).squareRoot()
            if let observed = known.pair[KnownCounts.key(x, y)] {
                let missing = expected - Double(observed)
                let error = (sigma * sigma + expectationNoise * expectationNoise + sampling * sampling).squareRoot()
                guard missing > z * error, shown(missing) >= k, shown(expected) >= k, shown(Double(observed)) >= k else { continue }
                found.append(gap(x: x, y: y, basis: "fewer", observed: observed, expected: expected, missing: missing, error: error))
            } else {
                // Suppressed: its true count is below k, or its noisy count fell under the
                // threshold, so with confidence it is under threshold + z sigma.
                let ceiling = Double(threshold) + z * sigma
                let missing = expected - ceiling
                let error = (expectationNoise * expectationNoise + sampling * sampling).squareRoot()
                guard missing > z * error, shown(missing) >= k, shown(expected) >= k else { continue }
                found.append(gap(x: x, y: y, basis: "suppressed", observed: nil, expected: expected, missing: missing, error: error))
            }
        }
        return found.sorted { $0.missing != $1.missing ? $0.missing > $1.missing : $0.audience < $1.audience }
    }

    /// A number as the partner sees it (rounded down to tens without noise): what must be >= k.
    private func shown(_ value: Double) -> Int64 { ReleasedTable.bucket(Int64(value.rounded()), bucketWidth) }

    private func gap(x: Int, y: Int, basis: String, observed: Int64?, expected: Double, missing: Double, error: Double) -> Gap {
        let catalog = table.catalog
        let a = catalog.items[x].partner
        // What Y's audience buys from the partner instead: its other items with the highest
        // lift toward Y.
        let instead = table.pairsOfItem[y].map { table.pairs[Int($0)] }.compactMap { pair -> Gap.Instead? in
            let other = Int(pair.x) == y ? Int(pair.y) : Int(pair.x)
            guard other != x, catalog.items[other].partner == a, pair.lift >= minimumLift else { return nil }
            return Gap.Instead(item: catalog.name(of: other), lift: pair.lift, count: ReleasedTable.bucket(pair.both, bucketWidth))
        }
        return Gap(
            audience: catalog.name(of: y), basis: basis, observed: observed.map { ReleasedTable.bucket($0, bucketWidth) },
            expected: shown(expected), missing: shown(missing), confidence: missing > Self.strongZ * error ? 0.999 : 0.95,
            rateRatio: observed.map { ($0 > 0 ? Double($0) / expected : 0) }, instead: Array(instead.prefix(3)),
            standardError: error)
    }
}

/// The released counts by cell: each cell is noised once per release, so any pair that
/// carries it gives the same value.
struct KnownCounts {
    var pair: [Int64: Int64] = [:]
    var within: [Int64: Int64] = [:]
    var overlap: [Int64: Int64] = [:]

    static func key(_ first: Int, _ second: Int) -> Int64 { Int64(first) << 32 | Int64(second) }

    init(_ table: ReleasedTable) {
        for released in table.pairs {
            let (x, y) = (Int(released.x), Int(released.y))
            let (a, b) = (table.catalog.items[x].partner, table.catalog.items[y].partner)
            pair[Self.key(x, y)] = released.both
            pair[Self.key(y, x)] = released.both
            within[Self.key(x, b)] = released.xWithin
            within[Self.key(y, a)] = released.yWithin
            overlap[Self.key(min(a, b), max(a, b))] = released.overlap
        }
    }
}

/// One item's gaps.
public struct GapList: Sendable, Codable, Equatable {
    public var category: String
    public var gaps: [Gap]
}

/// One audience where the partner's item is bought less than in the overlap as a whole.
public struct Gap: Sendable, Codable, Equatable {
    public struct Instead: Sendable, Codable, Equatable {
        /// `partner:category` of the partner's own item.
        public var item: String
        public var lift: Double
        public var count: Int64
    }

    /// `partner:category` of the other brand's item whose buyers are the audience.
    public var audience: String
    /// `fewer` (the pair was released, with fewer buyers than expected) or `suppressed` (the
    /// pair was held back although far more buyers were expected than a held-back count holds).
    public var basis: String
    /// n_XY, released; absent when suppressed.
    public var observed: Int64?
    /// Y's buyers in the overlap times X's share of the overlap.
    public var expected: Int64
    /// expected - observed (suppressed: expected minus the most a held-back count can be).
    public var missing: Int64
    /// One-sided confidence that the shortfall is real: 0.95 (clear of 1.645 standard errors
    /// of noise and sampling) or 0.999 (clear of 3.09).
    public var confidence: Double
    /// observed / expected: how much less X is bought by this audience (absent when suppressed).
    public var rateRatio: Double?
    /// The partner's other items with at least `recommend.min_lift` toward the audience, highest
    /// first: what to offer it.
    public var instead: [Instead]
    /// Of `missing`, from noise and sampling. Kept inside the daemon (see ``GapFinder``).
    var standardError: Double = 0

    enum CodingKeys: String, CodingKey {
        case audience, basis, observed, expected, missing, instead, confidence
        case rateRatio = "rate_ratio"
    }
}
