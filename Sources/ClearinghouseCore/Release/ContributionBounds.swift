/// How much one person may contribute to a release.
///
/// Differential privacy needs a bound on how many counts one person can move; without it the
/// noise would have to cover an unbounded contribution. The choice of what a person keeps is
/// deterministic (no randomness, so a release is reproducible and the DuckDB peer can compute
/// the very same counts):
/// 1. per person and partner, the weights of the person's signals are summed per item;
/// 2. the person keeps the `partnersPerPerson` partners with the largest total weight
///    (ties: the partner added first, i.e. the lower internal partner id);
/// 3. at each kept partner, the person keeps the `itemsPerPartner` items with the largest
///    summed weight (ties: the category registered first, i.e. the lower category id).
public struct ContributionBounds: Sendable, Equatable, Codable {
    /// L: items one person contributes per partner.
    public var itemsPerPartner: Int
    /// P: partners one person contributes to per release.
    public var partnersPerPerson: Int

    public init(itemsPerPartner: Int, partnersPerPerson: Int) {
        self.itemsPerPartner = itemsPerPartner
        self.partnersPerPerson = partnersPerPerson
    }

    /// How many released cells one person can change by one, at most: every partner pair
    /// (N_AB), every kept item against every other kept partner (n_X|AB), every cross-brand
    /// pair of kept items (n_XY).
    public var cellsPerPerson: Int {
        let partnerPairs = partnersPerPerson * (partnersPerPerson - 1) / 2
        let itemCells = partnersPerPerson * itemsPerPartner * (partnersPerPerson - 1)
        let pairCells = partnerPairs * itemsPerPartner * itemsPerPartner
        return partnerPairs + itemCells + pairCells
    }

    enum CodingKeys: String, CodingKey {
        case itemsPerPartner = "items_per_partner"
        case partnersPerPerson = "partners_per_person"
    }
}
