/// Which ledger entries `audit log` lists.
public struct LedgerFilter: Sendable, Equatable {
    /// Entries at or after this time (milliseconds since 1970).
    public var since: Int64?
    public var partner: String?
    public var action: LedgerAction?
    public var limit: Int

    public init(since: Int64? = nil, partner: String? = nil, action: LedgerAction? = nil, limit: Int = 1000) {
        self.since = since
        self.partner = partner
        self.action = action
        self.limit = limit
    }
}

/// The outcome of `audit verify`.
public struct LedgerVerification: Sendable, Equatable {
    /// Entries checked and found sound before the first finding (or all of them).
    public var verified: Int64
    /// The first problem, or `nil` when the whole ledger holds.
    public var finding: LedgerVerifier.Finding?
    /// The head the ledger ends at.
    public var headSequence: Int64
    public var headHash: [UInt8]

    public init(verified: Int64, finding: LedgerVerifier.Finding?, headSequence: Int64, headHash: [UInt8]) {
        self.verified = verified
        self.finding = finding
        self.headSequence = headSequence
        self.headHash = headHash
    }
}

/// A partner's receipt for one entry: its sequence and hash, to check against the ledger.
public struct LedgerReceipt: Sendable, Equatable {
    public var sequence: Int64
    public var hash: [UInt8]

    public init(sequence: Int64, hash: [UInt8]) {
        self.sequence = sequence
        self.hash = hash
    }

    /// Parses `SEQUENCE:HEXHASH`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let sequence = Int64(parts[0]), sequence > 0,
            let hash = Hex.decode(String(parts[1])), hash.count == 32
        else { return nil }
        self.init(sequence: sequence, hash: hash)
    }
}
