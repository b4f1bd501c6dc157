/// What one committed transaction did to the stored signals, told to the columnar copy
/// (``SignalCopy``) with the ledger sequence that transaction wrote.
///
/// Every change to consents or signals writes a ledger entry in its own transaction, so the
/// ledger's latest sequence names a database state; the copy is true for the state named by its
/// mark only if it has applied the change of every sequence up to it. A store that cannot say
/// what a transaction did says `.unknown`, and the copy is dropped (never guessed at).
public enum SignalChange: Sendable {
    /// No signal was added or removed (a release, a key change, an outcome batch).
    case unchanged
    /// Signals were stored: stored ids, one entry per stored row.
    case appended([StoredSignal])
    /// Every signal of these (partner, person) pairs was erased (revocation, consent change).
    case erased([ErasedConsent])
    /// Signals changed in a way the store does not enumerate (a purge by age): drop the copy.
    case unknown
}

/// One stored signal row, by stored ids: never a person key.
public struct StoredSignal: Sendable, Equatable {
    public var person: Int64
    public var partner: Int64
    public var category: Int64
    public var weight: Double

    public init(person: Int64, partner: Int64, category: Int64, weight: Double) {
        self.person = person
        self.partner = partner
        self.category = category
        self.weight = weight
    }
}

/// One partner's consent of one person whose signals were all erased.
public struct ErasedConsent: Sendable, Hashable {
    public var partner: Int64
    public var person: Int64

    public init(partner: Int64, person: Int64) {
        self.partner = partner
        self.person = person
    }
}

/// Collects, inside one write transaction, what it does to signals: the rows it stores and the
/// consents whose signals it erases. One per transaction, on the writer's thread only.
public final class SignalChangeRecorder: @unchecked Sendable {
    public private(set) var appended: [StoredSignal] = []
    public private(set) var erased: [ErasedConsent] = []

    public init() {}

    public func stored(_ signal: StoredSignal) { appended.append(signal) }

    public func erased(partner: Int64, person: Int64) { erased.append(ErasedConsent(partner: partner, person: person)) }

    /// The change to tell the copy. A batch either stores signals or erases them (a consent
    /// batch that drops affinity erases and stores none); one that did both is `.unknown`,
    /// which drops the copy rather than guess the order the two were done in.
    public var change: SignalChange {
        if !erased.isEmpty { return appended.isEmpty ? .erased(erased) : .unknown }
        return appended.isEmpty ? .unchanged : .appended(appended)
    }
}
