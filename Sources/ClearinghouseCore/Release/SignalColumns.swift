/// Signals held in memory as three parallel columns, for `AffinityCounter`.
///
/// Tests and tools build consortia this way; the daemon's releases stream persons from storage
/// into `AffinityAccumulator` instead. Persons are small dense integers, never person keys.
public struct SignalColumns: Sendable {
    /// Person index per signal, in `0..<personCount`.
    public var person: [Int32] = []
    /// Item index per signal (into `ReleaseCatalog.items`).
    public var item: [Int32] = []
    /// Weight per signal (> 0).
    public var weight: [Double] = []
    /// One more than the largest person index.
    public var personCount: Int = 0

    public init() {}

    public var count: Int { person.count }

    public mutating func append(person: Int32, item: Int32, weight: Double) {
        self.person.append(person)
        self.item.append(item)
        self.weight.append(weight)
        personCount = max(personCount, Int(person) + 1)
    }
}
