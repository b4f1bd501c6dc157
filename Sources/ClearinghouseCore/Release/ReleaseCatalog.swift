/// The partners and items a release is computed over, in a fixed order.
///
/// Partners are ordered by their internal id (the order they were added) and items by partner,
/// then category id (the order the category was first seen). The contribution bounds break
/// ties by these orders, so they are part of what a release means.
public struct ReleaseCatalog: Sendable, Equatable {
    /// One partner's category, `partner:category`.
    public struct Item: Sendable, Equatable {
        /// Index into `partners`.
        public var partner: Int
        public var category: String

        public init(partner: Int, category: String) {
            self.partner = partner
            self.category = category
        }
    }

    /// Partner ids (slugs).
    public var partners: [String]
    /// Items sorted by partner index, then category id.
    public var items: [Item]

    public init(partners: [String], items: [Item]) {
        precondition(zip(items, items.dropFirst()).allSatisfy { $0.partner <= $1.partner }, "items must be grouped by partner")
        self.partners = partners
        self.items = items
    }

    /// The indices of `partner`'s items (all, or the one named `category`), in catalog order;
    /// `nil` when the partner is not in the release. What each partner-facing answer starts from.
    public func items(of partner: String, category: String? = nil) -> [Int]? {
        guard let partnerIndex = partners.firstIndex(of: partner) else { return nil }
        return items.indices.filter { items[$0].partner == partnerIndex && (category == nil || items[$0].category == category) }
    }

    /// `partner:category` of an item.
    public func name(of item: Int) -> String {
        "\(partners[items[item].partner]):\(items[item].category)"
    }
}
