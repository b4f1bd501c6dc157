/// Every stored signal as flat columns grouped by person: the columnar copy a release counts.
///
/// The base is what one database snapshot held, persons by ascending stored id and each
/// person's signals in the order the release index returns them (partner, category, weight), so
/// that summing a person's weights adds the same doubles in the same order as the database scan
/// and every tie-break stays the same. Changes committed after the snapshot are patched in:
/// stored signals go to `added` (by person), erased ones are overwritten in place (category -1,
/// weight 0), so an erased value does not stay in memory. It holds stored ids, never a person key.
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
    /// The partner of each category id seen in the base (categories never change partner).
    let partnerOfCategory: [Int64]
    /// Signals stored after the snapshot, by person.
    private(set) var added: [Int64: [AddedSignal]] = [:]
    private(set) var addedCount = 0
    /// Base signals erased after the snapshot.
    private(set) var erasedCount = 0

    struct AddedSignal: Sendable {
        var partner: Int64
        var category: Int32
        var weight: Double
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
            + addedCount * MemoryLayout<AddedSignal>.stride + added.count * 64
    }

    /// Whether patches have grown enough that a fresh build is cheaper to hold and to count.
    var wantsRebuild: Bool { addedCount > max(1 << 20, category.count / 4) }

    /// Applies one committed change; `false` when the copy cannot follow it (drop it).
    mutating func apply(_ change: SignalChange) -> Bool {
        switch change {
        case .unchanged: return true
        case .unknown: return false
        case .appended(let signals):
            for signal in signals {
                guard signal.category >= 0, signal.category <= Int64(Int32.max) else { return false }
                added[signal.person, default: []].append(
                    AddedSignal(partner: signal.partner, category: Int32(signal.category), weight: signal.weight))
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
        // Taken out of the dictionary first, so the list has one owner and is overwritten in
        // place (assigning through a second reference would copy it, and free the original
        // with the erased values still in it).
        guard var list = added.removeValue(forKey: consent.person) else { return }
        let before = list.count
        list.withUnsafeMutableBufferPointer { list in
            for at in list.indices where list[at].partner == consent.partner {
                list[at] = AddedSignal(partner: -1, category: -1, weight: 0)
            }
        }
        list.removeAll { $0.partner == -1 }
        addedCount -= before - list.count
        if !list.isEmpty { added[consent.person] = list }
    }

    func partner(ofBaseCategory category: Int32) -> Int64 {
        Int(category) < partnerOfCategory.count ? partnerOfCategory[Int(category)] : -1
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
        added.keys.filter { baseIndex(of: $0) == nil }.sorted()
    }

    /// Contiguous base ranges holding about the same number of signals each.
    func baseRanges(_ parts: Int) -> [Range<Int>] {
        SignalOffsets.balancedRanges(start, parts: parts, keepEmpty: false)
    }
}

/// Builds the base of a ``ColumnarSignals`` from rows read in release-index order.
public struct ColumnarSignalsBuilder {
    private var personID: [Int32] = []
    private var start: [Int32] = [0]
    private var category: [Int32] = []
    private var weight: [Double] = []
    private var partnerOfCategory: [Int64] = []

    /// - Parameter expectedSignals: the row count, so the columns are allocated once.
    public init(expectedSignals: Int, expectedPersons: Int) {
        category.reserveCapacity(expectedSignals)
        weight.reserveCapacity(expectedSignals)
        personID.reserveCapacity(expectedPersons)
        start.reserveCapacity(expectedPersons + 1)
    }

    /// Appends one row; rows come by ascending person, then partner, category and weight.
    /// `false` for an id or a size the 32-bit columns cannot hold (the copy is then not used).
    @inline(__always)
    public mutating func append(person: Int64, partner: Int64, category id: Int64, weight value: Double) -> Bool {
        guard id >= 0, id <= Int64(Int32.max), person >= 0, person <= Int64(Int32.max), category.count < Int(Int32.max)
        else { return false }
        if personID.last != Int32(person) {
            if !personID.isEmpty { start.append(Int32(category.count)) }
            personID.append(Int32(person))
        }
        let index = Int(id)
        if index >= partnerOfCategory.count {
            partnerOfCategory.append(contentsOf: repeatElement(-1, count: index + 1 - partnerOfCategory.count))
        }
        partnerOfCategory[index] = partner
        category.append(Int32(id))
        weight.append(value)
        return true
    }

    public consuming func finish(mark: Int64) -> ColumnarSignals {
        if !personID.isEmpty { start.append(Int32(category.count)) }
        return ColumnarSignals(
            mark: mark, personID: personID, start: start, category: category, weight: weight, partnerOfCategory: partnerOfCategory)
    }
}
