/// The per-person step of `AffinityCounter`, with buffers reused across persons.
///
/// For one person: sum weights per item, keep the top partners and the top items per partner
/// (`ContributionBounds`), then add one to every cell the kept items touch.
struct PersonScratch {
    private var items: [Int32]
    private var weights: [Double]
    /// Partner groups of the distinct items: partner, first index, end index, total weight.
    private var groups: [(partner: Int32, lower: Int, upper: Int, total: Double)] = []
    private var order: [Int] = []
    private var kept: [(item: Int32, partner: Int32)] = []
    private var keptPartners: [Int32] = []

    init(capacity: Int) {
        items = Array(repeating: 0, count: max(1, capacity))
        weights = Array(repeating: 0, count: max(1, capacity))
        order.reserveCapacity(64)
        groups.reserveCapacity(32)
        kept.reserveCapacity(64)
    }

    mutating func count(
        items source: UnsafeBufferPointer<Int32>, weights sourceWeights: UnsafeBufferPointer<Double>,
        partnerOfItem: [Int32], bounds: ContributionBounds, into counts: inout AffinityCounts
    ) {
        guard !source.isEmpty else { return }
        let distinct = loadDistinctItems(source, sourceWeights)
        groupByPartner(distinct: distinct, partnerOfItem: partnerOfItem)
        selectKept(bounds: bounds)
        counts.persons += 1
        guard keptPartners.count >= 2 else { return }
        counts.personsAtSeveralPartners += 1
        addCells(into: &counts)
    }

    /// Copies the person's signals, sorts them by item and sums the weights of equal items.
    private mutating func loadDistinctItems(_ source: UnsafeBufferPointer<Int32>, _ sourceWeights: UnsafeBufferPointer<Double>) -> Int {
        let count = source.count
        if count > items.count {
            items = Array(repeating: 0, count: count * 2)
            weights = Array(repeating: 0, count: count * 2)
        }
        for offset in 0..<count {
            items[offset] = source[offset]
            weights[offset] = sourceWeights[offset]
        }
        if count <= 24 {
            for index in 1..<max(1, count) {
                let item = items[index], weight = weights[index]
                var at = index
                while at > 0 && items[at - 1] > item {
                    items[at] = items[at - 1]
                    weights[at] = weights[at - 1]
                    at -= 1
                }
                items[at] = item
                weights[at] = weight
            }
        } else {
            var pairs = (0..<count).map { (items[$0], weights[$0]) }
            pairs.sort { $0.0 < $1.0 }
            for (offset, pair) in pairs.enumerated() {
                items[offset] = pair.0
                weights[offset] = pair.1
            }
        }
        var distinct = 0
        for index in 0..<count {
            if distinct > 0 && items[distinct - 1] == items[index] {
                weights[distinct - 1] += weights[index]
            } else {
                items[distinct] = items[index]
                weights[distinct] = weights[index]
                distinct += 1
            }
        }
        return distinct
    }

    /// Items are ordered by partner, so each partner's items are one run.
    private mutating func groupByPartner(distinct: Int, partnerOfItem: [Int32]) {
        groups.removeAll(keepingCapacity: true)
        for index in 0..<distinct {
            let partner = partnerOfItem[Int(items[index])]
            if let last = groups.last, last.partner == partner {
                groups[groups.count - 1].upper = index + 1
                groups[groups.count - 1].total += weights[index]
            } else {
                groups.append((partner, index, index + 1, weights[index]))
            }
        }
    }

    /// The top partners by total weight (ties: lower partner), then the top items of each by
    /// weight (ties: lower item); `kept` ends sorted by item, hence grouped by partner.
    private mutating func selectKept(bounds: ContributionBounds) {
        if groups.count > bounds.partnersPerPerson {
            groups.sort { $0.total != $1.total ? $0.total > $1.total : $0.partner < $1.partner }
            groups.removeLast(groups.count - bounds.partnersPerPerson)
            groups.sort { $0.partner < $1.partner }
        }
        kept.removeAll(keepingCapacity: true)
        keptPartners.removeAll(keepingCapacity: true)
        for group in groups {
            keptPartners.append(group.partner)
            let size = group.upper - group.lower
            if size <= bounds.itemsPerPartner {
                for index in group.lower..<group.upper { kept.append((items[index], group.partner)) }
                continue
            }
            order.removeAll(keepingCapacity: true)
            order.append(contentsOf: group.lower..<group.upper)
            let weights = self.weights, items = self.items
            order.sort { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : items[$0] < items[$1] }
            let chosen = order.prefix(bounds.itemsPerPartner).sorted()
            for index in chosen { kept.append((items[index], group.partner)) }
        }
    }

    private func addCells(into counts: inout AffinityCounts) {
        let partnerCount = counts.partnerCount
        for first in 0..<keptPartners.count {
            for second in (first + 1)..<keptPartners.count {
                counts.overlapCells[Int(keptPartners[first]) * partnerCount + Int(keptPartners[second])] &+= 1
            }
        }
        for entry in kept {
            let row = Int(entry.item) * partnerCount
            for partner in keptPartners where partner != entry.partner {
                counts.itemCells[row + Int(partner)] &+= 1
            }
        }
        let itemCount = counts.itemCount
        let kept = self.kept
        if counts.pairs.isDense {
            counts.pairs.withDenseCells { cells in
                for first in 0..<kept.count {
                    let row = Int(kept[first].item) * itemCount
                    for second in (first + 1)..<kept.count where kept[second].partner != kept[first].partner {
                        cells[row + Int(kept[second].item)] &+= 1
                    }
                }
            }
        } else {
            for first in 0..<kept.count {
                for second in (first + 1)..<kept.count where kept[second].partner != kept[first].partner {
                    counts.pairs.increment(Int(kept[first].item), Int(kept[second].item))
                }
            }
        }
    }
}
