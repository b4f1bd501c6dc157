import Crypto

/// One entry of the audit ledger: a state change, chained to the entry before it.
///
/// The ledger exists so an operator can show an auditor that the record of consents,
/// withdrawals and releases was not quietly edited: each entry's hash covers its content and
/// the previous entry's hash, so changing, removing, inserting or reordering any entry breaks
/// every hash after it. Entries hold counts, ids and digests, never a token or person key.
public struct LedgerEntry: Sendable, Equatable, Codable {
    /// 1, 2, 3, ... without gaps.
    public var sequence: Int64
    /// Milliseconds since 1970 (UTC).
    public var at: Int64
    public var action: LedgerAction
    /// The partner concerned, if any.
    public var partner: String?
    /// What changed, as canonical JSON (sorted keys): counts, ids, digests.
    public var details: String
    public var previousHash: [UInt8]
    public var hash: [UInt8]

    /// The hash of the entry before the first.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    /// Makes the entry that follows `previousHash`, computing its hash.
    public init(sequence: Int64, at: Int64, action: LedgerAction, partner: String?, details: String, previousHash: [UInt8]) {
        self.sequence = sequence
        self.at = at
        self.action = action
        self.partner = partner
        self.details = details
        self.previousHash = previousHash
        self.hash = []
        self.hash = computedHash
    }

    /// A stored entry as read back, with the hash it was stored under.
    public init(
        sequence: Int64, at: Int64, action: LedgerAction, partner: String?, details: String, previousHash: [UInt8],
        storedHash: [UInt8]
    ) {
        self.sequence = sequence
        self.at = at
        self.action = action
        self.partner = partner
        self.details = details
        self.previousHash = previousHash
        self.hash = storedHash
    }

    /// SHA-256 over a length-prefixed binary encoding of every field and the previous hash,
    /// under a domain-separation prefix; no JSON ambiguity can make two entries collide.
    public var computedHash: [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array("clearinghouse-ledger-v1".utf8))
        func put(_ value: Int64) {
            withUnsafeBytes(of: value.bigEndian) { hasher.update(bufferPointer: $0) }
        }
        func put(_ text: String?) {
            guard let text else {
                put(Int64(-1))
                return
            }
            let bytes = Array(text.utf8)
            put(Int64(bytes.count))
            hasher.update(data: bytes)
        }
        put(sequence)
        put(at)
        put(action.rawValue)
        put(partner)
        put(details)
        hasher.update(data: previousHash)
        return Array(hasher.finalize())
    }

    enum CodingKeys: String, CodingKey {
        case sequence, at, action, partner, details, hash
        case previousHash = "previous_hash"
    }
}

/// The kinds of state change the ledger records.
public enum LedgerAction: String, Sendable, Codable, CaseIterable {
    case consentsBatch = "batch.consents"
    case signalsBatch = "batch.signals"
    case revocationsBatch = "batch.revocations"
    case outcomesBatch = "batch.outcomes"
    case partnerAdded = "partner.added"
    case partnerKeyRotated = "partner.key_rotated"
    case partnerKeyAdded = "partner.key_added"
    case partnerKeyRevoked = "partner.key_revoked"
    case partnerDisabled = "partner.disabled"
    case releaseComputed = "release.computed"
    case purge = "purge"
    case exportWritten = "export.written"
}
