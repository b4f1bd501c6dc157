/// The release catalog built from stored partners and categories, with the map from a stored
/// category id to its item and partner that a release scan looks up for every signal.
///
/// Both backends build it the same way (partners by id, items by partner then category id),
/// so a release's item order, and with it every tie-break, is the same on either.
public struct CategoryMap: Sendable {
    public let catalog: ReleaseCatalog
    /// Indexed by category id (identity ids are dense): the item, or -1.
    public let itemOfCategory: [Int32]
    /// Indexed by category id: the partner's stored id, or -1.
    public let partnerOfCategory: [Int64]
    /// The catalog index of each partner, by its stored id.
    public let partnerIndex: [Int64: Int]

    /// - Parameters:
    ///   - partners: (id, slug) ordered by id.
    ///   - categories: (id, partner id, name) ordered by partner id, then id.
    public init(partners: [(id: Int64, slug: String)], categories: [(id: Int64, partner: Int64, name: String)]) {
        var partnerIndex: [Int64: Int] = [:]
        for (index, partner) in partners.enumerated() { partnerIndex[partner.id] = index }
        var items: [ReleaseCatalog.Item] = []
        var itemOfCategory: [Int32] = []
        var partnerOfCategory: [Int64] = []
        for category in categories {
            guard let index = partnerIndex[category.partner], category.id >= 0 else { continue }
            if itemOfCategory.count <= category.id {
                let grow = Int(category.id) + 1 - itemOfCategory.count
                itemOfCategory.append(contentsOf: repeatElement(-1, count: grow))
                partnerOfCategory.append(contentsOf: repeatElement(-1, count: grow))
            }
            itemOfCategory[Int(category.id)] = Int32(items.count)
            partnerOfCategory[Int(category.id)] = category.partner
            items.append(.init(partner: index, category: category.name))
        }
        self.catalog = ReleaseCatalog(partners: partners.map(\.slug), items: items)
        self.itemOfCategory = itemOfCategory
        self.partnerOfCategory = partnerOfCategory
        self.partnerIndex = partnerIndex
    }

    /// The item of a category id, or -1 for none.
    @inline(__always)
    public func item(ofCategory category: Int64) -> Int32 {
        category >= 0 && category < itemOfCategory.count ? itemOfCategory[Int(category)] : -1
    }

    /// `parts` disjoint person-id ranges covering `low..<high`, for readers that take them in turn.
    public static func personRanges(low: Int64, high: Int64, parts: Int) -> [Range<Int64>] {
        var ranges: [Range<Int64>] = []
        let count = Int64(max(1, parts))
        for part in 0..<count {
            let lower = low + (high - low) * part / count
            let upper = part == count - 1 ? max(high, low) : low + (high - low) * (part + 1) / count
            ranges.append(lower..<max(lower, upper))
        }
        return ranges
    }
}
