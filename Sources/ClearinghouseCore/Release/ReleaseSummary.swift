/// What the operator learns about a computed release: sizes and how much was suppressed.
///
/// The exact figures here depend on raw data without noise, so they go to the operator (CLI)
/// only; partners see the released pairs and the parameters, never these.
public struct ReleaseSummary: Sendable, Codable, Equatable {
    /// Persons with at least one kept item.
    public var persons: Int
    /// Persons with kept items at two or more partners.
    public var personsAtSeveralPartners: Int
    public var signals: Int
    public var partners: Int
    public var items: Int
    public var pairsReleased: Int
    /// Cells with at least one person that did not pass the guard.
    public var pairsSuppressed: Int
    public var overlapsReleased: Int
    public var overlapsSuppressed: Int
    public var itemCountsReleased: Int
    public var itemCountsSuppressed: Int
    /// Partners' own pairs (both items at one partner) released at k, and held back below it.
    public var ownPairsReleased: Int
    public var ownPairsSuppressed: Int

    public init(
        persons: Int = 0, personsAtSeveralPartners: Int = 0, signals: Int = 0, partners: Int = 0, items: Int = 0,
        pairsReleased: Int = 0, pairsSuppressed: Int = 0, overlapsReleased: Int = 0, overlapsSuppressed: Int = 0,
        itemCountsReleased: Int = 0, itemCountsSuppressed: Int = 0, ownPairsReleased: Int = 0, ownPairsSuppressed: Int = 0
    ) {
        self.persons = persons
        self.personsAtSeveralPartners = personsAtSeveralPartners
        self.signals = signals
        self.partners = partners
        self.items = items
        self.pairsReleased = pairsReleased
        self.pairsSuppressed = pairsSuppressed
        self.overlapsReleased = overlapsReleased
        self.overlapsSuppressed = overlapsSuppressed
        self.itemCountsReleased = itemCountsReleased
        self.itemCountsSuppressed = itemCountsSuppressed
        self.ownPairsReleased = ownPairsReleased
        self.ownPairsSuppressed = ownPairsSuppressed
    }

    /// Summaries stored before partners' own pairs existed read with zero of them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            persons: try container.decode(Int.self, forKey: .persons),
            personsAtSeveralPartners: try container.decode(Int.self, forKey: .personsAtSeveralPartners),
            signals: try container.decode(Int.self, forKey: .signals),
            partners: try container.decode(Int.self, forKey: .partners),
            items: try container.decode(Int.self, forKey: .items),
            pairsReleased: try container.decode(Int.self, forKey: .pairsReleased),
            pairsSuppressed: try container.decode(Int.self, forKey: .pairsSuppressed),
            overlapsReleased: try container.decode(Int.self, forKey: .overlapsReleased),
            overlapsSuppressed: try container.decode(Int.self, forKey: .overlapsSuppressed),
            itemCountsReleased: try container.decode(Int.self, forKey: .itemCountsReleased),
            itemCountsSuppressed: try container.decode(Int.self, forKey: .itemCountsSuppressed),
            ownPairsReleased: try container.decodeIfPresent(Int.self, forKey: .ownPairsReleased) ?? 0,
            ownPairsSuppressed: try container.decodeIfPresent(Int.self, forKey: .ownPairsSuppressed) ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case persons, signals, partners, items
        case personsAtSeveralPartners = "persons_at_several_partners"
        case pairsReleased = "pairs_released"
        case pairsSuppressed = "pairs_suppressed"
        case overlapsReleased = "overlaps_released"
        case overlapsSuppressed = "overlaps_suppressed"
        case itemCountsReleased = "item_counts_released"
        case itemCountsSuppressed = "item_counts_suppressed"
        case ownPairsReleased = "own_pairs_released"
        case ownPairsSuppressed = "own_pairs_suppressed"
    }
}
