/// One verification of a whole ledger against its head and a partner's receipts, fed the
/// entries in sequence order by whichever backend stores them: the checks are the same on
/// every backend, only the reading differs.
public struct LedgerVerificationRun {
    private var verifier = LedgerVerifier()
    private var finding: LedgerVerifier.Finding?
    private var lastHash = LedgerEntry.genesisHash
    private var lastSequence: Int64 = 0
    private let receipts: [LedgerReceipt]
    private let wanted: [Int64: [UInt8]]

    public init(receipts: [LedgerReceipt]) {
        self.receipts = receipts
        self.wanted = Dictionary(receipts.map { ($0.sequence, $0.hash) }, uniquingKeysWith: { first, _ in first })
    }

    /// Checks the next entry; returns false once a finding ends the run (the rest need not be read).
    public mutating func add(_ entry: LedgerEntry) -> Bool {
        guard finding == nil else { return false }
        if let problem = verifier.check(entry) {
            finding = problem
            return false
        }
        if let hash = wanted[entry.sequence], hash != entry.hash {
            finding = .receiptMismatch(sequence: entry.sequence)
            return false
        }
        lastSequence = entry.sequence
        lastHash = entry.hash
        return true
    }

    /// The outcome, once every entry was added, against the recorded `head`.
    public func finish(head: LedgerHead?) -> LedgerVerification {
        var finding = self.finding
        if finding == nil { finding = verifier.finish(head: head) }
        if finding == nil, let missing = receipts.first(where: { $0.sequence > lastSequence }) {
            finding = .truncated(headSequence: missing.sequence, lastSequence: lastSequence)
        }
        return LedgerVerification(verified: verifier.verifiedCount, finding: finding, headSequence: lastSequence, headHash: lastHash)
    }
}
