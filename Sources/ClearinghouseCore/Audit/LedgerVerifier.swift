/// Recomputes the ledger's chain and names the first entry that does not hold.
///
/// Catches an edited entry (its hash no longer matches its content), a deleted, inserted or
/// reordered entry (a gap or repeat in the sequence, or a previous hash that does not match),
/// and a truncated ledger (fewer entries than the recorded head).
public struct LedgerVerifier {
    public enum Finding: Sendable, Equatable, CustomStringConvertible {
        case sequenceGap(expected: Int64, found: Int64)
        case brokenLink(sequence: Int64)
        case alteredContent(sequence: Int64)
        case truncated(headSequence: Int64, lastSequence: Int64)
        case headMismatch(sequence: Int64)
        case beyondHead(headSequence: Int64, lastSequence: Int64)
        case receiptMismatch(sequence: Int64)

        public var description: String {
            switch self {
            case .sequenceGap(let expected, let found):
                return "entry \(expected) is missing or out of order (found entry \(found) in its place): an entry was deleted, inserted or reordered"
            case .brokenLink(let sequence):
                return "entry \(sequence) does not follow the entry before it (its previous hash differs): the chain was cut or rebuilt there"
            case .alteredContent(let sequence):
                return "entry \(sequence) was altered: its content no longer matches its hash"
            case .truncated(let head, let last):
                return "the ledger ends at entry \(last) but its head records entry \(head): entries after \(last) were removed"
            case .headMismatch(let sequence):
                return "entry \(sequence) differs from the recorded head: the ledger was rewritten from there"
            case .beyondHead(let head, let last):
                return "entries \(head + 1) to \(last) come after the recorded head (entry \(head)): they were added outside the daemon"
            case .receiptMismatch(let sequence):
                return "entry \(sequence) does not match the receipt given for it: the ledger was rewritten since"
            }
        }
    }

    private var expected: Int64 = 1
    private var previousHash = LedgerEntry.genesisHash
    private var lastHash: [UInt8]?

    public init() {}

    /// Checks the next entry, in sequence order; returns the first problem, if any.
    public mutating func check(_ entry: LedgerEntry) -> Finding? {
        guard entry.sequence == expected else { return .sequenceGap(expected: expected, found: entry.sequence) }
        guard entry.previousHash == previousHash else { return .brokenLink(sequence: entry.sequence) }
        guard entry.computedHash == entry.hash else { return .alteredContent(sequence: entry.sequence) }
        previousHash = entry.hash
        lastHash = entry.hash
        expected += 1
        return nil
    }

    /// After the last entry: checks the chain against the recorded head (sequence and hash).
    public func finish(head: LedgerHead?) -> Finding? {
        let last = expected - 1
        guard let head else { return nil }
        if head.sequence > last { return .truncated(headSequence: head.sequence, lastSequence: last) }
        if head.sequence < last { return .beyondHead(headSequence: head.sequence, lastSequence: last) }
        if head.hash != (lastHash ?? LedgerEntry.genesisHash) { return .headMismatch(sequence: last) }
        return nil
    }

    /// Entries verified so far.
    public var verifiedCount: Int64 { expected - 1 }
}
