/// A reported outcome as stored: the line, who reported it, and how it is classified.
///
/// Records are never edited: a correction stores a new record and marks the one it replaces
/// (`replacedAt`), so that a list read on a given day can be rebuilt from what was known
/// when the day began.
public struct OutcomeRecord: Sendable, Equatable {
    public var partner: String
    public var line: OutcomeLine
    /// Whether the popularity baseline of the line's release listed the suggestion.
    public var inBaseline: Bool
    /// `explore` when the suggestion had fewer than `recommend.explore_invitations` of the
    /// partner's invitations before the period began, `exploit` otherwise.
    public var mode: SuggestionMode
    public var recordedAt: Int64
    public var replacedAt: Int64?

    public init(partner: String, line: OutcomeLine, inBaseline: Bool, mode: SuggestionMode, recordedAt: Int64, replacedAt: Int64? = nil) {
        self.partner = partner
        self.line = line
        self.inBaseline = inBaseline
        self.mode = mode
        self.recordedAt = recordedAt
        self.replacedAt = replacedAt
    }

    /// Whether a list read on a day that began at `dayStart` counts this record: recorded
    /// before then, and not yet replaced then.
    public func counts(asOf dayStart: Int64) -> Bool {
        recordedAt < dayStart && (replacedAt.map { $0 >= dayStart } ?? true)
    }

    public var isLive: Bool { replacedAt == nil }
}

/// Why a suggestion is in a list: the best posterior means (exploit) or a draw among the
/// suggestions with few invitations so far (explore).
public enum SuggestionMode: String, Sendable, Codable, CaseIterable {
    case explore
    case exploit
}

/// A batch of outcomes checked against its releases, ready to store.
public struct OutcomeBatch: Sendable {
    public var records: [OutcomeRecord]
    public var bodyDigest: [UInt8]
    public var sentDigest: [UInt8]

    public init(records: [OutcomeRecord], bodyDigest: [UInt8], sentDigest: [UInt8]) {
        self.records = records
        self.bodyDigest = bodyDigest
        self.sentDigest = sentDigest
    }
}

/// The answer to `POST /v1/outcomes`.
public struct OutcomeReceipt: Sendable, Codable, Equatable {
    public var batchID: Int64
    public var received: Int
    /// Lines for a suggestion and period not reported before.
    public var stored: Int
    /// Lines that replaced an earlier report of the same suggestion and period (corrections).
    public var replaced: Int
    public var ledgerSequence: Int64?
    public var ledgerHash: String?
    public var storedAt: String?
    public var replayed: Bool?

    public init(batchID: Int64, received: Int, stored: Int = 0, replaced: Int = 0) {
        self.batchID = batchID
        self.received = received
        self.stored = stored
        self.replaced = replaced
    }

    enum CodingKeys: String, CodingKey {
        case received, stored, replaced, replayed
        case batchID = "batch_id"
        case ledgerSequence = "ledger_sequence"
        case ledgerHash = "ledger_hash"
        case storedAt = "stored_at"
    }
}

/// What storing an outcome batch did.
public enum OutcomeStoreResult: Sendable, Equatable {
    case stored(OutcomeReceipt)
    /// The Idempotency-Key's first request, answered again; nothing stored.
    case replayed(OutcomeReceipt)

    public var receipt: OutcomeReceipt {
        switch self {
        case .stored(let receipt), .replayed(let receipt): return receipt
        }
    }
}
