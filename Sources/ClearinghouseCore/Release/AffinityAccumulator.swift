/// Receives the live signals of one person at a time, in any person order.
///
/// Storage streams each person's signals (items and weights, any order, repeats allowed) into
/// a sink; the sink never sees a person key, only small integer item ids.
public protocol PersonSignalSink: AnyObject {
    func addPerson(items: UnsafeBufferPointer<Int32>, weights: UnsafeBufferPointer<Double>)
}

/// Counts one stream of persons into `AffinityCounts`, bounding each person's contribution.
///
/// One accumulator per worker: several read disjoint person ranges at once and their counts
/// are merged. `@unchecked Sendable` because it is handed to exactly one thread at a time
/// (the reader of its range) and read back only after that thread has finished.
public final class AffinityAccumulator: PersonSignalSink, @unchecked Sendable {
    public private(set) var counts: AffinityCounts
    /// Signals seen.
    public private(set) var signals = 0
    private let scratch: PersonScratch
    private let partnerOfItem: [Int32]

    public init(catalog: ReleaseCatalog, bounds: ContributionBounds) {
        precondition(bounds.itemsPerPartner >= 1 && bounds.partnersPerPerson >= 1)
        partnerOfItem = catalog.items.map { Int32($0.partner) }
        counts = AffinityCounts(partnerOfItem: partnerOfItem, partnerCount: catalog.partners.count)
        scratch = PersonScratch(partnerCount: catalog.partners.count, bounds: bounds)
    }

    public func addPerson(items: UnsafeBufferPointer<Int32>, weights: UnsafeBufferPointer<Double>) {
        guard !items.isEmpty else { return }
        signals += items.count
        partnerOfItem.withUnsafeBufferPointer { partnerOfItem in
            scratch.count(items: items, weights: weights, partnerOfItem: partnerOfItem, into: &counts)
        }
    }

    /// Bytes one accumulator holds for `catalog` (the item-pair matrix dominates).
    public static func bytes(for catalog: ReleaseCatalog) -> Int {
        let items = catalog.items.count, partners = catalog.partners.count
        let pairs = items <= PairCounts.denseItemLimit ? items * items * 4 : 0
        return pairs + items * partners * 8 + partners * partners * 8 + (items + partners) * 8
    }

    /// Accumulators together stay within this, whatever the number of cores or workers.
    public static let memoryBudget = 64 << 20

    /// How many accumulators (counting threads) fit ``memoryBudget`` for `catalog`: at least one.
    public static func limit(for catalog: ReleaseCatalog) -> Int {
        max(1, memoryBudget / max(1, bytes(for: catalog)))
    }

    /// The merged counts of several accumulators over disjoint persons.
    public static func merged(_ accumulators: [AffinityAccumulator]) -> AffinityCounts {
        var total = accumulators[0].counts
        for other in accumulators.dropFirst() { total.merge(other.counts) }
        return total
    }
}
