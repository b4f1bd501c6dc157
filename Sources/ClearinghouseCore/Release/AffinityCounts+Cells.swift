/// Building counts cell by cell, for an engine that counts outside this process (PostgreSQL or
/// Citus computing the same bounded counts in SQL, `release.engine = database`): the cells mean
/// exactly what ``PersonScratch`` adds, so the privacy guard cannot tell the engines apart.
extension AffinityCounts {
    /// Empty counts over `catalog`'s partners and items.
    public init(catalog: ReleaseCatalog) {
        self.init(partnerOfItem: catalog.items.map { Int32($0.partner) }, partnerCount: catalog.partners.count)
    }

    public mutating func setPersons(_ persons: Int, atSeveralPartners several: Int) {
        self.persons = persons
        self.personsAtSeveralPartners = several
    }

    /// N_A for partner index `partner`.
    public mutating func addOwnPersons(partner: Int, _ count: Int64) { ownPersons[partner] += count }

    /// n_X at X's own partner.
    public mutating func addOwnItemPersons(item: Int, _ count: Int64) { ownItemPersons[item] += count }

    /// N_AB for partners a != b.
    public mutating func addOverlap(_ a: Int, _ b: Int, _ count: Int64) {
        overlapCells[min(a, b) * partnerCount + max(a, b)] += count
    }

    /// n_X|AB: persons of the overlap of X's partner and `partner` who have X.
    public mutating func addItemWithin(item: Int, partner: Int, _ count: Int64) {
        itemCells[item * partnerCount + partner] += count
    }

    /// n_XY for items x != y (cross-brand or of one partner).
    public mutating func addPair(_ x: Int, _ y: Int, _ count: Int64) {
        pairs.add(min(x, y), max(x, y), UInt32(clamping: count))
    }
}

/// Which engine counts a release: the daemon's columnar copy in memory (SQLite; elsewhere it
/// falls back to the scan), the in-memory engine fed by a scan of one snapshot (every backend),
/// or SQL in the database (PostgreSQL, and Citus across its workers).
public enum ReleaseEngine: String, Sendable, CaseIterable, Codable {
    case columnar
    case memory
    case database
}

/// The exact counts of a release with their catalog and the number of signals read, from either engine.
public struct ExactCounts: Sendable {
    public let catalog: ReleaseCatalog
    public let counts: AffinityCounts
    public let signals: Int

    public init(catalog: ReleaseCatalog, counts: AffinityCounts, signals: Int) {
        self.catalog = catalog
        self.counts = counts
        self.signals = signals
    }
}
