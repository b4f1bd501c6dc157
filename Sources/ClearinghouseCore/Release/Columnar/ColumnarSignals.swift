/// Every stored signal as flat columns grouped by person: the columnar copy a release counts.
///
/// The base is what one database snapshot held, persons by ascending stored id and each
/// person's signals by category, then weight (``ColumnarSignalsBuilder``), so that summing a
/// person's weights adds the same doubles in the same order however the person is fed, and every
/// tie-break stays the same. Changes committed after the snapshot are patched in: stored signals
/// go to a flat log (`addedLog`, chained by person), erased ones are overwritten in place
/// (category -1, weight 0), base or log, so an erased value does not stay in memory. It holds
/// stored ids, never a person key.
public struct ColumnarSignals: Sendable {
    /// The ledger sequence whose database state this copy is.
    public internal(set) var mark: Int64
    /// Stored person ids of the base, ascending (32 bits: a copy is not built for larger ids).
    private(set) var personID: [Int32]
    /// The signals of base person `i` are at `start[i]..<start[i + 1]` (32 bits, likewise).
    private(set) var start: [Int32]
    /// Stored category id per signal, or -1 once erased.
    private(set) var category: [Int32]
    private(set) var weight: [Double]
    /// The partner of each category id the base's catalog held (categories never change partner).
    let partnerOfCategory: [Int64]
    /// Signals stored after the snapshot, in commit order; each names the same person's previous
    /// entry. 16 bytes a signal and one dictionary entry a person, no array per person: the
    /// writer's thread appends every stored signal here when its batch commits.
    private(set) var addedLog: [AddedSignal] = []
    /// Per person with patched-in signals, the index of its latest entry in `addedLog`.
    private(set) var addedLatest: [Int64: Int32] = [:]
    /// The partner of each category first seen in patches.
    private(set) var addedPartnerOfCategory: [Int32: Int64] = [:]
    /// Patched-in signals not erased since.
    private(set) var addedCount = 0
    /// Base signals erased after the snapshot.
    private(set) var erasedCount = 0

    struct AddedSignal: Sendable {
        var weight: Double
        /// -1 once erased.
        var category: Int32
        /// The index of the same person's previous entry, -1 for none.
        var previous: Int32
    }

    init(mark: Int64, personID: [Int32], start: [Int32], category: [Int32], weight: [Double], partnerOfCategory: [Int64]) {
        self.mark = mark
        self.personID = personID
        self.start = start
        self.category = category
        self.weight = weight
        self.partnerOfCategory = partnerOfCategory
    }

    /// Live signals held (base minus erased, plus added).
    public var liveSignals: Int { category.count - erasedCount + addedCount }

    /// Bytes of the columns, for the log line and the gauge.
    public var bytes: Int {
        personID.count * 4 + start.count * 4 + category.count * (4 + 8) + partnerOfCategory.count * 8
            + addedLog.count * MemoryLayout<AddedSignal>.stride + addedLatest.count * 24
    }

    /// Whether patches have grown enough that a fresh build is cheaper to hold and to count:
    /// past an eighth of the base, or 262,144 signals for a small one (a bulk upload into a
    /// young database then drops the copy early instead of holding its patches).
    var wantsRebuild: Bool { addedLog.count > max(1 << 18, category.count / 8) }

    /// Applies one committed change; `false` when the copy cannot follow it (drop it).
    mutating func apply(_ change: SignalChange) -> Bool {
        switch change {
        case .unchanged: return true
        case .unknown: return false
        case .appended(let signals):
            // No reserveCapacity here: it allocates exactly what it is asked for, so calling it
            // each commit would copy the whole log each commit; appends grow it geometrically.
            guard addedLog.count + signals.count < Int(Int32.max) else { return false }
            for signal in signals {
                guard signal.category >= 0, signal.category <= Int64(Int32.max) else { return false }
                let category = Int32(signal.category)
                if partner(ofCategory: category) != signal.partner { addedPartnerOfCategory[category] = signal.partner }
                let previous = addedLatest.updateValue(Int32(addedLog.count), forKey: signal.person) ?? -1
                addedLog.append(AddedSignal(weight: signal.weight, category: category, previous: previous))
            }
            addedCount += signals.count
            return !wantsRebuild
        case .erased(let consents):
            for consent in consents { erase(consent) }
            return true
        }
    }

    /// Overwrites every signal of one partner's consent of one person, base and added.
    private mutating func erase(_ consent: ErasedConsent) {
        if let index = baseIndex(of: consent.person) {
            // Element by element: erasures are few signals each, and this keeps the columns
            // uniquely referenced (no copy of them is made).
            for entry in Int(start[index])..<Int(start[index + 1]) where category[entry] >= 0 {
                guard partner(ofBaseCategory: category[entry]) == consent.partner else { continue }
                category[entry] = -1
                weight[entry] = 0
                erasedCount += 1
            }
        }
        // In place along the person's chain, the log uniquely referenced (no copy of it is made).
        guard var at = addedLatest[consent.person] else { return }
        var othersLeft = false
        while at >= 0 {
            let entry = addedLog[Int(at)]
            if entry.category >= 0 {
                if partner(ofCategory: entry.category) == consent.partner {
                    addedLog[Int(at)].category = -1
                    addedLog[Int(at)].weight = 0
                    addedCount -= 1
                } else {
                    othersLeft = true
                }
            }
            at = entry.previous
        }
        if !othersLeft { addedLatest[consent.person] = nil }
    }

    func partner(ofBaseCategory category: Int32) -> Int64 {
        Int(category) < partnerOfCategory.count ? partnerOfCategory[Int(category)] : -1
    }

    /// The partner of any category a signal of this copy has, base or added.
    func partner(ofCategory category: Int32) -> Int64 {
        let base = partner(ofBaseCategory: category)
        return base >= 0 ? base : addedPartnerOfCategory[category] ?? -1
    }

    /// The live patched-in signals of `person` (category, weight), in no particular order.
    func added(of person: Int64) -> [(category: Int32, weight: Double)] {
        var signals: [(category: Int32, weight: Double)] = []
        var at = addedLatest[person] ?? -1
        while at >= 0 {
            let entry = addedLog[Int(at)]
            if entry.category >= 0 { signals.append((entry.category, entry.weight)) }
            at = entry.previous
        }
        return signals
    }

    /// The base position of a stored person id (binary search).
    func baseIndex(of person: Int64) -> Int? {
        guard person >= 0, person <= Int64(Int32.max) else { return nil }
        let person = Int32(person)
        var low = 0, high = personID.count
        while low < high {
            let middle = (low + high) / 2
            if personID[middle] < person { low = middle + 1 } else { high = middle }
        }
        return low < personID.count && personID[low] == person ? low : nil
    }

    /// Persons with added signals that the base does not hold, ascending.
    func personsOnlyAdded() -> [Int64] {
        addedLatest.keys.filter { baseIndex(of: $0) == nil }.sorted()
    }

    /// Contiguous base ranges holding about the same number of signals each.
    func baseRanges(_ parts: Int) -> [Range<Int>] {
        SignalOffsets.balancedRanges(start, parts: parts, keepEmpty: false)
    }
}

/// Builds the base of a ``ColumnarSignals`` from rows in any order: the signal table's own order
/// (an append-only log with no person index, so rows come as they were stored).
///
/// Two passes over the same rows, in one read transaction: the first counts each person's
/// signals (``count(person:)``), ``layout()`` turns the counts into each person's place in the
/// columns, and the second puts every signal in its place (``place(person:category:weight:)``).
/// ``finish(mark:partnerOfCategory:)`` then orders each person's signals by category, then
/// weight, so that equal items' weights are summed in ascending order, as the patched persons'
/// are (``ColumnarSignals`` sums the same doubles in the same order whichever way a person got
/// in). Memory is the columns themselves plus 4 bytes per person id.
public struct ColumnarSignalsBuilder {
    /// By person id: the person's signal count in the first pass, then its next free place.
    private var counts: [Int32] = []
    private var counted = 0
    private var personID: [Int32] = []
    private var start: [Int32] = []
    private var category: [Int32] = []
    private var weight: [Double] = []
    private var placed = 0

    /// - Parameter largestPerson: the largest person id expected, so the counts are allocated
    ///   once (a larger one still fits: the counts grow).
    public init(largestPerson: Int64 = 0) {
        counts = [Int32](repeating: 0, count: Int(max(0, min(largestPerson, Int64(Int32.max) - 1))) + 1)
    }

    /// First pass: one more signal of `person`. `false` for an id or a size the 32-bit columns
    /// cannot hold (the copy is then not built).
    @inline(__always)
    public mutating func count(person: Int64) -> Bool {
        guard person >= 0, person < Int64(Int32.max), counted < Int(Int32.max) - 1 else { return false }
        let index = Int(person)
        if index >= counts.count { counts.append(contentsOf: repeatElement(0, count: max(index + 1, counts.count * 2) - counts.count)) }
        counts[index] += 1
        counted += 1
        return true
    }

    /// Between the passes: each counted person's range in the columns, by ascending id.
    public mutating func layout() {
        pendingShift = max(0, Int.bitWidth - (counts.count - 1).leadingZeroBitCount - 8)
        pending = [Pending](repeating: Pending(person: 0, category: 0, weight: 0), count: Self.pendingBuckets * Self.pendingPerBucket)
        pendingCount = [UInt8](repeating: 0, count: Self.pendingBuckets)
        category = [Int32](repeating: 0, count: counted)
        weight = [Double](repeating: 0, count: counted)
        start = [0]
        var offset: Int32 = 0
        for index in counts.indices where counts[index] > 0 {
            personID.append(Int32(index))
            let count = counts[index]
            counts[index] = offset
            offset += count
            start.append(offset)
        }
    }

    /// Second pass: puts one signal in its person's place, through a small buffer per range of
    /// person ids. `false` when the rows differ from the first pass's (never within one read
    /// transaction; the copy is then not built).
    ///
    /// Rows come in upload order, so each one's place is a random spot of the columns (120 MiB
    /// at 10 million signals), a cache and TLB miss a row when stored directly. A range of
    /// persons' places is one stretch of the columns, so rows are held per range (``pending``)
    /// and stored a bufferful at a time into a stretch that fits the caches. A place is not read
    /// to check it is free: ``finish(mark:partnerOfCategory:)`` checks that every person's
    /// places were filled exactly, which any difference between the passes breaks.
    @inline(__always)
    public mutating func place(person: Int64, category id: Int64, weight value: Double) -> Bool {
        guard person >= 0, person < Int64(counts.count), id >= 0, id <= Int64(Int32.max) else { return false }
        let bucket = Int(person) >> pendingShift
        let slot = bucket * Self.pendingPerBucket + Int(pendingCount[bucket])
        pending[slot] = Pending(person: Int32(person), category: Int32(id), weight: value)
        pendingCount[bucket] += 1
        if Int(pendingCount[bucket]) == Self.pendingPerBucket { return flush(bucket) }
        return true
    }

    /// Stores one range's held rows in their places.
    private mutating func flush(_ bucket: Int) -> Bool {
        let first = bucket * Self.pendingPerBucket
        for slot in first..<(first + Int(pendingCount[bucket])) {
            let row = pending[slot]
            let at = Int(counts[Int(row.person)])
            guard at < counted, placed < counted else { return false }
            category[at] = row.category
            weight[at] = row.weight
            counts[Int(row.person)] += 1
            placed += 1
        }
        pendingCount[bucket] = 0
        return true
    }

    /// Rows held for one range of persons before they are stored.
    private struct Pending {
        var person: Int32
        var category: Int32
        var weight: Double
    }

    private static let pendingPerBucket = 32
    private static let pendingBuckets = 256
    private var pending: [Pending] = []
    private var pendingCount: [UInt8] = []
    /// A person's range is `person >> pendingShift`.
    private var pendingShift = 0

    /// The base, once both passes saw the same rows; `nil` otherwise. The columns move out of
    /// the builder (it is empty afterwards).
    ///
    /// Mutating, not consuming: the columns are ordered in place, which needs this builder to be
    /// their one owner; a consuming call copied the builder (the read's closures had captured
    /// it), and ordering the shared columns then copied all of them (117 MiB more at 10 million
    /// signals, measured).
    public mutating func finish(mark: Int64, partnerOfCategory: [Int64]) -> ColumnarSignals? {
        for bucket in pendingCount.indices where pendingCount[bucket] > 0 {
            guard flush(bucket) else { return nil }
        }
        pending = []
        // Every person's places filled exactly: the two passes read the same rows.
        guard placed == counted, personID.indices.allSatisfy({ counts[Int(personID[$0])] == start[$0 + 1] }) else { return nil }
        counts = []
        let (persons, starts) = (personID, start)
        category.withUnsafeMutableBufferPointer { category in
            weight.withUnsafeMutableBufferPointer { weight in
                for person in persons.indices {
                    Self.order(category, weight, Int(starts[person])..<Int(starts[person + 1]))
                }
            }
        }
        defer { self = ColumnarSignalsBuilder() }
        return ColumnarSignals(
            mark: mark, personID: self.personID, start: self.start, category: category, weight: weight,
            partnerOfCategory: partnerOfCategory)
    }

    /// Orders one person's signals by category, then weight: by insertion for the handful most
    /// persons have, by a sort of pairs for a long run.
    private static func order(_ category: UnsafeMutableBufferPointer<Int32>, _ weight: UnsafeMutableBufferPointer<Double>, _ range: Range<Int>) {
        guard range.count > 1 else { return }
        if range.count > 32 {
            let sorted = range.map { (category[$0], weight[$0]) }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            for (offset, pair) in sorted.enumerated() {
                category[range.lowerBound + offset] = pair.0
                weight[range.lowerBound + offset] = pair.1
            }
            return
        }
        for index in (range.lowerBound + 1)..<range.upperBound {
            let (c, w) = (category[index], weight[index])
            var at = index
            while at > range.lowerBound && (category[at - 1] > c || (category[at - 1] == c && weight[at - 1] > w)) {
                category[at] = category[at - 1]
                weight[at] = weight[at - 1]
                at -= 1
            }
            category[at] = c
            weight[at] = w
        }
    }
}
