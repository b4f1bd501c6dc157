/// Exact distinct-person counts of a release, before any privacy guard.
///
/// Never leaves the daemon: the privacy guard (`ReleaseBuilder`) turns it into released,
/// thresholded and noised counts. For partners A < B (by index) and items X of A, Y of B:
/// - `overlap(A, B)` = N_AB, persons with kept items at both A and B;
/// - `itemWithin(X, B)` = n_X|AB, persons of that overlap who have X;
/// - `pair(X, Y)` = n_XY, persons with both X and Y.
///
/// And each partner's own cells, from its own signals alone (the person's top L items there):
/// - `ownPersons[A]` = N_A, persons with signals at A;
/// - `ownItemPersons[X]` = n_X at A;
/// - `pair(X, Z)` for X, Z both of A = n_XZ, persons of A with both.
public struct AffinityCounts: Sendable {
    public let partnerCount: Int
    public let itemCount: Int
    /// Persons with at least one kept item.
    public internal(set) var persons: Int = 0
    /// Persons with kept items at two or more partners (the ones every count is about).
    public internal(set) var personsAtSeveralPartners: Int = 0
    /// N_AB at `a * partnerCount + b`, for a < b.
    public internal(set) var overlapCells: [Int64]
    /// n_X|AB at `x * partnerCount + b`, for b != partner(x).
    public internal(set) var itemCells: [Int64]
    /// N_A, persons with signals at partner A.
    public internal(set) var ownPersons: [Int64]
    /// n_X at X's own partner.
    public internal(set) var ownItemPersons: [Int64]
    /// n_XY for x < y: of different partners (cross-brand) and of the same partner (own).
    var pairs: PairCounts

    /// The partner of each item, to tell cross-brand pairs from a partner's own.
    let partnerOfItem: [Int32]

    init(partnerOfItem: [Int32], partnerCount: Int) {
        self.partnerCount = partnerCount
        self.itemCount = partnerOfItem.count
        self.partnerOfItem = partnerOfItem
        self.overlapCells = Array(repeating: 0, count: partnerCount * partnerCount)
        self.itemCells = Array(repeating: 0, count: itemCount * partnerCount)
        self.ownPersons = Array(repeating: 0, count: partnerCount)
        self.ownItemPersons = Array(repeating: 0, count: itemCount)
        self.pairs = PairCounts(itemCount: itemCount)
    }

    public func overlap(_ a: Int, _ b: Int) -> Int64 {
        overlapCells[min(a, b) * partnerCount + max(a, b)]
    }

    public func itemWithin(_ item: Int, partner: Int) -> Int64 {
        itemCells[item * partnerCount + partner]
    }

    public func pair(_ x: Int, _ y: Int) -> Int64 {
        pairs.count(min(x, y), max(x, y))
    }

    /// Every non-zero cross-brand pair count, x < y.
    public func forEachPair(_ body: (_ x: Int, _ y: Int, _ count: Int64) throws -> Void) rethrows {
        try pairs.forEach { x, y, count in
            if partnerOfItem[x] != partnerOfItem[y] { try body(x, y, count) }
        }
    }

    /// Every non-zero pair count of two items of the same partner, x < y.
    public func forEachOwnPair(_ body: (_ x: Int, _ y: Int, _ count: Int64) throws -> Void) rethrows {
        try pairs.forEach { x, y, count in
            if partnerOfItem[x] == partnerOfItem[y] { try body(x, y, count) }
        }
    }

    /// Number of non-zero cross-brand pair cells.
    public var nonZeroPairs: Int {
        var total = 0
        forEachPair { _, _, _ in total += 1 }
        return total
    }

    mutating func merge(_ other: AffinityCounts) {
        persons += other.persons
        personsAtSeveralPartners += other.personsAtSeveralPartners
        for index in overlapCells.indices { overlapCells[index] += other.overlapCells[index] }
        for index in itemCells.indices { itemCells[index] += other.itemCells[index] }
        for index in ownPersons.indices { ownPersons[index] += other.ownPersons[index] }
        for index in ownItemPersons.indices { ownItemPersons[index] += other.ownItemPersons[index] }
        pairs.merge(other.pairs)
    }
}

/// n_XY storage: a dense upper-triangular matrix while it is small, a hash map beyond.
///
/// With 1,000 items (20 partners x 50 categories) the dense matrix is 4 MB and each increment
/// one store; with many more items the matrix would dwarf the data, and most cells stay zero.
struct PairCounts: Sendable {
    static let denseItemLimit = 2048

    let itemCount: Int
    private var dense: [UInt32]
    private var sparse: [UInt64: UInt32]

    init(itemCount: Int) {
        self.itemCount = itemCount
        let isDense = itemCount <= Self.denseItemLimit
        dense = isDense ? Array(repeating: 0, count: itemCount * itemCount) : []
        sparse = [:]
    }

    var isDense: Bool { !dense.isEmpty || itemCount == 0 }

    /// Adds one to n_XY for x < y.
    @inline(__always)
    mutating func increment(_ x: Int, _ y: Int) {
        if isDense {
            dense[x * itemCount + y] &+= 1
        } else {
            sparse[UInt64(x) << 32 | UInt64(y), default: 0] += 1
        }
    }

    /// Adds `count` to n_XY for x < y (counts computed elsewhere).
    mutating func add(_ x: Int, _ y: Int, _ count: UInt32) {
        if isDense {
            dense[x * itemCount + y] &+= count
        } else {
            sparse[UInt64(x) << 32 | UInt64(y), default: 0] += count
        }
    }

    /// Direct access to the dense cells for the counting loop.
    mutating func withDenseCells<R>(_ body: (UnsafeMutableBufferPointer<UInt32>) -> R) -> R {
        dense.withUnsafeMutableBufferPointer { body($0) }
    }

    func count(_ x: Int, _ y: Int) -> Int64 {
        if isDense { return Int64(dense[x * itemCount + y]) }
        return Int64(sparse[UInt64(x) << 32 | UInt64(y)] ?? 0)
    }

    func forEach(_ body: (_ x: Int, _ y: Int, _ count: Int64) throws -> Void) rethrows {
        if isDense {
            for x in 0..<itemCount {
                let row = x * itemCount
                for y in (x + 1)..<max(x + 1, itemCount) where dense[row + y] != 0 {
                    try body(x, y, Int64(dense[row + y]))
                }
            }
        } else {
            for key in sparse.keys.sorted() {
                try body(Int(key >> 32), Int(key & 0xFFFF_FFFF), Int64(sparse[key]!))
            }
        }
    }

    mutating func merge(_ other: PairCounts) {
        if isDense {
            for index in dense.indices { dense[index] &+= other.dense[index] }
        } else {
            for (key, value) in other.sparse { sparse[key, default: 0] += value }
        }
    }
}
