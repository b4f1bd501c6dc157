/// Exact counts as sorted text lines named by partner and item (`acme:tents`), never by the
/// database's ids: two databases holding the same data give the same lines whatever ids they
/// assigned. `storage copy` compares them after a copy; tests compare engines with them.
/// Counts only, never a row: the lines are compared inside the daemon and not shown.
extension ExactCounts {
    public var canonicalLines: [String] {
        func item(_ index: Int) -> String { "\(catalog.partners[catalog.items[index].partner]):\(catalog.items[index].category)" }
        var lines = ["persons \(counts.persons)", "several \(counts.personsAtSeveralPartners)", "signals \(signals)"]
        for a in catalog.partners.indices {
            lines.append("own_persons \(catalog.partners[a]) \(counts.ownPersons[a])")
            for b in catalog.partners.indices where b > a && counts.overlap(a, b) > 0 {
                lines.append("overlap \(catalog.partners[a]) \(catalog.partners[b]) \(counts.overlap(a, b))")
            }
        }
        for index in catalog.items.indices {
            if counts.ownItemPersons[index] > 0 { lines.append("own_item \(item(index)) \(counts.ownItemPersons[index])") }
            for partner in catalog.partners.indices where counts.itemWithin(index, partner: partner) > 0 {
                lines.append("item_within \(item(index)) \(catalog.partners[partner]) \(counts.itemWithin(index, partner: partner))")
            }
        }
        counts.forEachPair { x, y, count in lines.append("pair \([item(x), item(y)].sorted()) \(count)") }
        counts.forEachOwnPair { x, y, count in lines.append("own_pair \([item(x), item(y)].sorted()) \(count)") }
        return lines.sorted()
    }
}
