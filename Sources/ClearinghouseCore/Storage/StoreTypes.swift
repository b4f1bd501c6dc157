/// A partner's public id (slug), e.g. `acme`: 1 to 32 of a-z, 0-9 and '-', starting with a letter.
///
/// It prefixes the partner's items (`acme:running-shoes`), so it is kept short and plain.
public struct PartnerID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let value: String

    public init?(_ value: String) {
        let bytes = Array(value.utf8)
        guard (1...32).contains(bytes.count),
            let first = bytes.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"),
            bytes.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") })
        else { return nil }
        self.value = value
    }

    public var description: String { value }
    public static let rule = "1 to 32 characters of a-z, 0-9 and '-', starting with a letter"
}

/// The partner a request was authenticated as.
public struct AuthenticatedPartner: Sendable, Equatable {
    /// Internal numeric id (storage only).
    public let rowID: Int64
    public let id: String
    /// What the key it authenticated with may do.
    public let role: KeyRole

    public init(rowID: Int64, id: String, role: KeyRole = .upload) {
        self.rowID = rowID
        self.id = id
        self.role = role
    }
}

/// What is stored under an API key id.
public struct StoredCredential: Sendable {
    public let partner: AuthenticatedPartner
    public let secretDigest: [UInt8]
    /// False when the key was rotated away or the partner is disabled.
    public let usable: Bool

    public init(partner: AuthenticatedPartner, secretDigest: [UInt8], usable: Bool) {
        self.partner = partner
        self.secretDigest = secretDigest
        self.usable = usable
    }
}

/// A partner as the operator sees it.
public struct PartnerSummary: Sendable, Codable, Equatable {
    public let id: String
    public let name: String
    public let status: String
    public let createdAt: String
    /// The id of the partner's live key (the secret is never shown again).
    public let keyID: String?

    public init(id: String, name: String, status: String, createdAt: String, keyID: String?) {
        self.id = id
        self.name = name
        self.status = status
        self.createdAt = createdAt
        self.keyID = keyID
    }

    enum CodingKeys: String, CodingKey {
        case id, name, status
        case createdAt = "created_at"
        case keyID = "key_id"
    }
}

/// The answer to a write: what the batch did, in counts only.
public struct BatchReceipt: Sendable, Codable, Equatable {
    public var batchID: Int64
    public var kind: BatchKind
    public var received: Int
    public var accepted: Int
    public var droppedNoConsent: Int
    /// Consents: new consents stored.
    public var created: Int?
    /// Consents: earlier consents replaced by a later one.
    public var replaced: Int?
    /// Consents: lines older than the consent already stored, so not applied.
    public var superseded: Int?
    /// Consents: stored, but already past expires_at (they authorise nothing).
    public var alreadyExpired: Int?
    /// Revocations: consents erased.
    public var revoked: Int?
    /// Revocations (and consents that drop a purpose): signals erased.
    public var signalsErased: Int?
    /// Revocations: lines naming a person this partner holds no consent for.
    public var notFound: Int?
    /// The audit ledger entry that records this batch, so a partner can check it later
    /// against `GET /v1/ledger/head` (and `clearinghouse audit verify --receipt`).
    public var ledgerSequence: Int64?
    public var ledgerHash: String?
    /// When the batch was first stored (RFC 3339): on a replay, the time of the original.
    /// Set on answers only; the stored receipt and the ledger have the time already.
    public var storedAt: String?
    /// Whether this answer comes from an earlier request with the same Idempotency-Key.
    public var replayed: Bool?
    /// On a replay: how many of the batch's lines this request stored, which are lines the
    /// original dropped for missing consent that consents cover now (0 on a plain replay).
    /// `accepted` counts every line stored under the batch so far.
    public var acceptedNow: Int?

    public init(batchID: Int64, kind: BatchKind, received: Int) {
        self.batchID = batchID
        self.kind = kind
        self.received = received
        self.accepted = 0
        self.droppedNoConsent = 0
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case kind, received, accepted
        case droppedNoConsent = "dropped_no_consent"
        case created, replaced, superseded
        case alreadyExpired = "already_expired"
        case revoked
        case signalsErased = "signals_erased"
        case notFound = "not_found"
        case ledgerSequence = "ledger_sequence"
        case ledgerHash = "ledger_hash"
        case storedAt = "stored_at"
        case replayed
        case acceptedNow = "accepted_now"
    }
}

/// Whether a write was stored now or replayed from an earlier identical request.
public enum IngestOutcome: Sendable, Equatable {
    case stored(BatchReceipt)
    case replayed(BatchReceipt)

    public var receipt: BatchReceipt {
        switch self {
        case .stored(let receipt), .replayed(let receipt): return receipt
        }
    }
}

/// Counts over the whole clearinghouse, for the operator (`clearinghouse stats`).
public struct ClearinghouseStats: Sendable, Codable, Equatable {
    public var partners: Int
    public var liveConsents: Int
    public var signals: Int
    /// Distinct person keys stored.
    public var persons: Int
    /// Persons with live consent at two partners or more: the matching at work.
    public var personsAtSeveralPartners: Int
    public var perPartner: [PartnerCounts]
    /// Persons with live consent at both partners of each pair that shares any.
    public var overlaps: [PairOverlap]

    public init(
        partners: Int, liveConsents: Int, signals: Int, persons: Int, personsAtSeveralPartners: Int,
        perPartner: [PartnerCounts], overlaps: [PairOverlap]
    ) {
        self.partners = partners
        self.liveConsents = liveConsents
        self.signals = signals
        self.persons = persons
        self.personsAtSeveralPartners = personsAtSeveralPartners
        self.perPartner = perPartner
        self.overlaps = overlaps
    }

    enum CodingKeys: String, CodingKey {
        case partners
        case liveConsents = "live_consents"
        case signals, persons
        case personsAtSeveralPartners = "persons_at_several_partners"
        case perPartner = "per_partner"
        case overlaps
    }

    public struct PartnerCounts: Sendable, Codable, Equatable {
        public var id: String
        public var status: String
        public var liveConsents: Int
        public var expiredConsents: Int
        public var signals: Int
        public var categories: Int

        public init(id: String, status: String, liveConsents: Int, expiredConsents: Int, signals: Int, categories: Int) {
            self.id = id
            self.status = status
            self.liveConsents = liveConsents
            self.expiredConsents = expiredConsents
            self.signals = signals
            self.categories = categories
        }

        enum CodingKeys: String, CodingKey {
            case id, status
            case liveConsents = "live_consents"
            case expiredConsents = "expired_consents"
            case signals, categories
        }
    }

    public struct PairOverlap: Sendable, Codable, Equatable {
        public var partners: [String]
        public var persons: Int

        public init(partners: [String], persons: Int) {
            self.partners = partners
            self.persons = persons
        }
    }
}
