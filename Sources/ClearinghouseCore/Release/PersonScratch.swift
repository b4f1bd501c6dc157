/// The per-person step of counting, with buffers allocated once and reused across persons.
///
/// For one person: sum weights per item, keep the top partners and the top items per partner
/// (`ContributionBounds`), then add one to every cell the kept items touch. This runs once per
/// person (millions per release), so it works on raw buffers: no allocation, no closures.
final class PersonScratch {
    private var capacity: Int
    private var items: UnsafeMutablePointer<Int32>
    private var weights: UnsafeMutablePointer<Double>
    private var itemChosen: UnsafeMutablePointer<Bool>
    /// Partner groups of the distinct items: partner, first index, end index, total weight.
    private let groupPartner: UnsafeMutablePointer<Int32>
    private let groupLower: UnsafeMutablePointer<Int>
    private let groupUpper: UnsafeMutablePointer<Int>
    private let groupTotal: UnsafeMutablePointer<Double>
    private let groupKept: UnsafeMutablePointer<Bool>
    private let groupCapacity: Int
    private var groupCount = 0
    /// Kept items (sorted by item, hence grouped by partner) and their partners.
    private let keptItem: UnsafeMutablePointer<Int32>
    private let keptItemPartner: UnsafeMutablePointer<Int32>
    private var keptCount = 0
    private let keptPartner: UnsafeMutablePointer<Int32>
    private var keptPartnerCount = 0
    /// The top items of one partner group, for the partner's own cells.
    private let ownItem: UnsafeMutablePointer<Int32>
    private let bounds: ContributionBounds

    init(partnerCount: Int, bounds: ContributionBounds) {
        capacity = 64
        items = .allocate(capacity: capacity)
        weights = .allocate(capacity: capacity)
        itemChosen = .allocate(capacity: capacity)
        groupCapacity = max(1, partnerCount)
        groupPartner = .allocate(capacity: groupCapacity)
        groupLower = .allocate(capacity: groupCapacity)
        groupUpper = .allocate(capacity: groupCapacity)
        groupTotal = .allocate(capacity: groupCapacity)
        groupKept = .allocate(capacity: groupCapacity)
        let keptCapacity = bounds.itemsPerPartner * bounds.partnersPerPerson
        keptItem = .allocate(capacity: keptCapacity)
        keptItemPartner = .allocate(capacity: keptCapacity)
        keptPartner = .allocate(capacity: bounds.partnersPerPerson)
        ownItem = .allocate(capacity: bounds.itemsPerPartner)
        self.bounds = bounds
    }

    deinit {
        items.deallocate()
        weights.deallocate()
        itemChosen.deallocate()
        groupPartner.deallocate()
        groupLower.deallocate()
        groupUpper.deallocate()
        groupTotal.deallocate()
        groupKept.deallocate()
        keptItem.deallocate()
        keptItemPartner.deallocate()
        keptPartner.deallocate()
        ownItem.deallocate()
    }

    func count(
        items source: UnsafeBufferPointer<Int32>, weights sourceWeights: UnsafeBufferPointer<Double>,
        partnerOfItem: UnsafeBufferPointer<Int32>, into counts: inout AffinityCounts
    ) {
        guard !source.isEmpty else { return }
        let distinct = loadDistinctItems(source, sourceWeights)
        groupByPartner(distinct: distinct, partnerOfItem: partnerOfItem)
        addOwnCells(into: &counts)
        selectKept()
        counts.persons += 1
        guard keptPartnerCount >= 2 else { return }
        counts.personsAtSeveralPartners += 1
        addCells(into: &counts)
    }

    /// Copies the person's signals, sorts them by item and sums the weights of equal items.
    private func loadDistinctItems(_ source: UnsafeBufferPointer<Int32>, _ sourceWeights: UnsafeBufferPointer<Double>) -> Int {
        let count = source.count
        if count > capacity {
            items.deallocate()
            weights.deallocate()
            itemChosen.deallocate()
            capacity = count * 2
            items = .allocate(capacity: capacity)
            weights = .allocate(capacity: capacity)
            itemChosen = .allocate(capacity: capacity)
        }
        // Insertion sort: a person has a handful of signals.
        for index in 0..<count {
            let item = source[index], weight = sourceWeights[index]
            var at = index
            while at > 0 && items[at - 1] > item {
                items[at] = items[at - 1]
                weights[at] = weights[at - 1]
                at -= 1
            }
            items[at] = item
            weights[at] = weight
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
    private func groupByPartner(distinct: Int, partnerOfItem: UnsafeBufferPointer<Int32>) {
        groupCount = 0
        for index in 0..<distinct {
            let partner = partnerOfItem[Int(items[index])]
            if groupCount > 0 && groupPartner[groupCount - 1] == partner {
                groupUpper[groupCount - 1] = index + 1
                groupTotal[groupCount - 1] += weights[index]
            } else {
                groupPartner[groupCount] = partner
                groupLower[groupCount] = index
                groupUpper[groupCount] = index + 1
                groupTotal[groupCount] = weights[index]
                groupCount += 1
            }
        }
    }

    /// Whether group `a` ranks before group `b`: larger total weight, then lower partner.
    @inline(__always)
    private func groupRanksBefore(_ a: Int, _ b: Int) -> Bool {
        groupTotal[a] != groupTotal[b] ? groupTotal[a] > groupTotal[b] : groupPartner[a] < groupPartner[b]
    }

    /// Whether item index `a` ranks before `b`: larger weight, then lower item.
    @inline(__always)
    private func itemRanksBefore(_ a: Int, _ b: Int) -> Bool {
        weights[a] != weights[b] ? weights[a] > weights[b] : items[a] < items[b]
    }

    /// Keeps the top partners, then the top items of each; `keptItem` ends sorted by item.
    private func selectKept() {
        keptCount = 0
        keptPartnerCount = 0
        // The P best groups by rank, by selection (P and the group count are small).
        if groupCount <= bounds.partnersPerPerson {
            for group in 0..<groupCount { groupKept[group] = true }
        } else {
            for group in 0..<groupCount { groupKept[group] = false }
            for _ in 0..<bounds.partnersPerPerson {
                var best = -1
                for group in 0..<groupCount where !groupKept[group] {
                    if best < 0 || groupRanksBefore(group, best) { best = group }
                }
                groupKept[best] = true
            }
        }
        for group in 0..<groupCount where groupKept[group] {
            let partner = groupPartner[group]
            keptPartner[keptPartnerCount] = partner
            keptPartnerCount += 1
            let lower = groupLower[group], upper = groupUpper[group]
            if upper - lower <= bounds.itemsPerPartner {
                for index in lower..<upper {
                    keptItem[keptCount] = items[index]
                    keptItemPartner[keptCount] = partner
                    keptCount += 1
                }
                continue
            }
            // The L best items of this group, by selection, then put back in item order.
            let first = keptCount
            for index in lower..<upper { itemChosen[index] = false }
            for _ in 0..<bounds.itemsPerPartner {
                var best = -1
                for index in lower..<upper where !itemChosen[index] {
                    if best < 0 || itemRanksBefore(index, best) { best = index }
                }
                itemChosen[best] = true
                keptItem[keptCount] = items[best]
                keptItemPartner[keptCount] = partner
                keptCount += 1
            }
            for index in (first + 1)..<keptCount {
                let item = keptItem[index]
                var at = index
                while at > first && keptItem[at - 1] > item {
                    keptItem[at] = keptItem[at - 1]
                    at -= 1
                }
                keptItem[at] = item
            }
        }
    }

    /// Each partner's own cells (N_A, n_X at A, n_XZ for X, Z of A) from the person's top L items
    /// at that partner. Only the partner-local bound applies (not the partners-per-person bound),
    /// so these counts are a function of that partner's own signals alone.
    private func addOwnCells(into counts: inout AffinityCounts) {
        let itemCount = counts.itemCount
        for group in 0..<groupCount {
            let lower = groupLower[group], upper = groupUpper[group]
            var ownCount = 0
            if upper - lower <= bounds.itemsPerPartner {
                for index in lower..<upper {
                    ownItem[ownCount] = items[index]
                    ownCount += 1
                }
            } else {
                for index in lower..<upper { itemChosen[index] = false }
                for _ in 0..<bounds.itemsPerPartner {
                    var best = -1
                    for index in lower..<upper where !itemChosen[index] {
                        if best < 0 || itemRanksBefore(index, best) { best = index }
                    }
                    itemChosen[best] = true
                }
                for index in lower..<upper where itemChosen[index] {
                    ownItem[ownCount] = items[index]
                    ownCount += 1
                }
            }
            counts.ownPersons[Int(groupPartner[group])] &+= 1
            for entry in 0..<ownCount { counts.ownItemPersons[Int(ownItem[entry])] &+= 1 }
            guard ownCount >= 2 else { continue }
            if counts.pairs.isDense {
                counts.pairs.withDenseCells { cells in
                    for first in 0..<ownCount {
                        let row = Int(ownItem[first]) * itemCount
                        for second in (first + 1)..<ownCount { cells[row + Int(ownItem[second])] &+= 1 }
                    }
                }
            } else {
                for first in 0..<ownCount {
                    for second in (first + 1)..<ownCount { counts.pairs.increment(Int(ownItem[first]), Int(ownItem[second])) }
                }
            }
        }
    }

    private func addCells(into counts: inout AffinityCounts) {
        let partnerCount = counts.partnerCount
        counts.overlapCells.withUnsafeMutableBufferPointer { overlap in
            for first in 0..<keptPartnerCount {
                for second in (first + 1)..<keptPartnerCount {
                    overlap[Int(keptPartner[first]) * partnerCount + Int(keptPartner[second])] &+= 1
                }
            }
        }
        counts.itemCells.withUnsafeMutableBufferPointer { cells in
            for entry in 0..<keptCount {
                let row = Int(keptItem[entry]) * partnerCount
                let own = keptItemPartner[entry]
                for partner in 0..<keptPartnerCount where keptPartner[partner] != own {
                    cells[row + Int(keptPartner[partner])] &+= 1
                }
            }
        }
        let itemCount = counts.itemCount
        if counts.pairs.isDense {
            counts.pairs.withDenseCells { cells in
                for first in 0..<keptCount {
                    let row = Int(keptItem[first]) * itemCount
                    let partner = keptItemPartner[first]
                    for second in (first + 1)..<keptCount where keptItemPartner[second] != partner {
                        cells[row + Int(keptItem[second])] &+= 1
                    }
                }
            }
        } else {
            for first in 0..<keptCount {
                for second in (first + 1)..<keptCount where keptItemPartner[second] != keptItemPartner[first] {
                    counts.pairs.increment(Int(keptItem[first]), Int(keptItem[second]))
                }
            }
        }
    }
}
