import Dispatch

/// Counts N_AB, n_X|AB and n_XY over signals held in memory as columns.
///
/// For tests and tools that hold signals in memory: groups them by person with a counting sort
/// (two linear passes; persons are dense ids) and feeds each person to an
/// `AffinityAccumulator`, the same counting code the release reads storage with. Persons are
/// split into contiguous ranges, one accumulator per worker, merged at the end.
public enum AffinityCounter {
    /// Counts `columns` (consumed: its memory is released once grouped) over `catalog`.
    public static func count(
        _ columns: inout SignalColumns, catalog: ReleaseCatalog, bounds: ContributionBounds, workers: Int = 2
    ) -> AffinityCounts {
        let grouped = PersonGroups(consuming: &columns)
        let ranges = grouped.split(into: max(1, workers))
        let accumulators = ranges.map { _ in AffinityAccumulator(catalog: catalog, bounds: bounds) }
        DispatchQueue.concurrentPerform(iterations: ranges.count) { worker in
            let accumulator = accumulators[worker]
            grouped.item.withUnsafeBufferPointer { items in
                grouped.weight.withUnsafeBufferPointer { weights in
                    for person in ranges[worker] {
                        let lower = grouped.start[person], upper = grouped.start[person + 1]
                        accumulator.addPerson(
                            items: UnsafeBufferPointer(rebasing: items[lower..<upper]),
                            weights: UnsafeBufferPointer(rebasing: weights[lower..<upper]))
                    }
                }
            }
        }
        return AffinityAccumulator.merged(accumulators)
    }
}

/// Signals grouped by person: the items and weights of person p are at `start[p]..<start[p+1]`.
struct PersonGroups: Sendable {
    let start: [Int]
    let item: [Int32]
    let weight: [Double]

    init(consuming columns: inout SignalColumns) {
        let personCount = columns.personCount
        var start = [Int](repeating: 0, count: personCount + 1)
        for person in columns.person { start[Int(person) + 1] &+= 1 }
        for index in 0..<personCount { start[index + 1] &+= start[index] }
        var cursor = start
        var item = [Int32](repeating: 0, count: columns.count)
        var weight = [Double](repeating: 0, count: columns.count)
        columns.person.withUnsafeBufferPointer { persons in
            columns.item.withUnsafeBufferPointer { items in
                columns.weight.withUnsafeBufferPointer { weights in
                    item.withUnsafeMutableBufferPointer { sortedItem in
                        weight.withUnsafeMutableBufferPointer { sortedWeight in
                            cursor.withUnsafeMutableBufferPointer { cursor in
                                for index in 0..<persons.count {
                                    let person = Int(persons[index])
                                    let at = cursor[person]
                                    cursor[person] = at &+ 1
                                    sortedItem[at] = items[index]
                                    sortedWeight[at] = weights[index]
                                }
                            }
                        }
                    }
                }
            }
        }
        columns = SignalColumns()
        self.start = start
        self.item = item
        self.weight = weight
    }

    var personCount: Int { start.count - 1 }

    /// Contiguous person ranges holding about the same number of signals each.
    func split(into parts: Int) -> [Range<Int>] {
        SignalOffsets.balancedRanges(start, parts: parts, keepEmpty: true)
    }
}

/// Splitting persons whose signals sit at `start[p]..<start[p + 1]` into ranges of about equal
/// signal counts, for workers that take a range each.
enum SignalOffsets {
    /// `parts` contiguous ranges of `0..<start.count - 1`; empty ones dropped unless `keepEmpty`.
    static func balancedRanges<Offset: BinaryInteger>(_ start: [Offset], parts: Int, keepEmpty: Bool) -> [Range<Int>] {
        let persons = start.count - 1
        let total = Int(start.last ?? 0)
        let parts = max(1, parts)
        var ranges: [Range<Int>] = []
        var lower = 0
        for part in 1...parts {
            var upper = persons
            if part < parts {
                let target = total * part / parts
                var low = lower, high = persons
                while low < high {
                    let middle = (low + high) / 2
                    if Int(start[middle]) < target { low = middle + 1 } else { high = middle }
                }
                upper = low
            }
            if keepEmpty || upper > lower { ranges.append(lower..<upper) }
            lower = upper
        }
        return ranges
    }
}
