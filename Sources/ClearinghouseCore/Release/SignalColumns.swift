/// The live-consented signals a release reads, as three parallel columns.
///
/// Storage fills it in one read transaction (one consistent snapshot); the affinity counter
/// reads it without knowing where it came from. Persons are small dense integers (storage row
/// ids), never person keys: nothing here could be joined to a token.
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

    public init(person: [Int32], item: [Int32], weight: [Double], personCount: Int) {
        precondition(person.count == item.count && item.count == weight.count)
        self.person = person
        self.item = item
        self.weight = weight
        self.personCount = personCount
    }

    public var count: Int { person.count }

    public mutating func reserveCapacity(_ capacity: Int) {
        person.reserveCapacity(capacity)
        item.reserveCapacity(capacity)
        weight.reserveCapacity(capacity)
    }

    public mutating func append(person: Int32, item: Int32, weight: Double) {
        self.person.append(person)
        self.item.append(item)
        self.weight.append(weight)
        personCount = max(personCount, Int(person) + 1)
    }
}
