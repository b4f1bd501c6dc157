import Foundation

/// The one canonical encoding of ledger details, and the building of the entry that follows
/// the head: both backends append through here, so an entry's bytes, and so its hash, do not
/// depend on which database stored it (`storage copy` checks the head hash is the same).
extension LedgerEntry {
    /// Details as canonical JSON: keys sorted, slashes unescaped, no whitespace.
    public static func canonicalDetails(_ details: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(details), as: UTF8.self)
    }

    /// The entry after `head` (or the first entry when `head` is `nil`).
    public static func following(
        _ head: LedgerHead?, action: LedgerAction, partner: String?, details: some Encodable, at now: Int64
    ) throws -> LedgerEntry {
        LedgerEntry(
            sequence: (head?.sequence ?? 0) + 1, at: now, action: action, partner: partner,
            details: try canonicalDetails(details), previousHash: head?.hash ?? genesisHash)
    }
}

/// The last entry of the ledger: its sequence and hash, as recorded beside the entries so that
/// truncating the ledger's tail is detected.
public struct LedgerHead: Sendable, Equatable {
    public var sequence: Int64
    public var hash: [UInt8]

    public init(sequence: Int64, hash: [UInt8]) {
        self.sequence = sequence
        self.hash = hash
    }

    public init(_ entry: LedgerEntry) {
        self.init(sequence: entry.sequence, hash: entry.hash)
    }

    /// The stored text form, `sequence:hex`.
    public var text: String { "\(sequence):\(Hex.encode(hash))" }

    /// Parses the stored text; a damaged record reads as sequence -1, which never verifies.
    public init(text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let sequence = Int64(parts[0]), let hash = Hex.decode(String(parts[1])) else {
            self.init(sequence: -1, hash: [])
            return
        }
        self.init(sequence: sequence, hash: hash)
    }
}

/// What the ledger records of a batch: its counts and the digest of its body (never a line).
public struct BatchLedgerDetails: Encodable, Sendable {
    public let receipt: BatchReceipt
    public let bodySHA256: String

    public init(receipt: BatchReceipt, bodyDigest: [UInt8]) {
        self.receipt = receipt
        self.bodySHA256 = Hex.encode(bodyDigest)
    }

    enum CodingKeys: String, CodingKey {
        case receipt
        case bodySHA256 = "body_sha256"
    }
}

/// What the ledger records of a release: its parameters and size, never a count.
public struct ReleaseLedgerDetails: Encodable, Sendable {
    public let releaseID: Int64
    public let trigger: String
    public let differentialPrivacy: Bool
    public let epsilon: Double?
    public let rho: Double
    public let k: Int
    public let pairsReleased: Int
    public let budgetPeriod: String
    /// The rho of the pooled acceptance published with the release, when it published one.
    public let pooledRho: Double?
    public let pooledItems: Int?

    public init(releaseID: Int64, release: NewRelease) {
        self.pooledRho = release.pooled?.rho
        self.pooledItems = release.pooled?.items.count
        self.releaseID = releaseID
        self.trigger = release.trigger
        self.differentialPrivacy = release.settings.differentialPrivacy
        self.epsilon = release.settings.differentialPrivacy ? release.settings.epsilon : nil
        self.rho = release.plan.rho
        self.k = release.settings.k
        self.pairsReleased = release.summary.pairsReleased
        self.budgetPeriod = release.budgetPeriod
    }

    enum CodingKeys: String, CodingKey {
        case trigger, epsilon, rho, k
        case releaseID = "release_id"
        case differentialPrivacy = "differential_privacy"
        case pairsReleased = "pairs_released"
        case budgetPeriod = "budget_period"
        case pooledRho = "pooled_rho"
        case pooledItems = "pooled_items"
    }
}

/// What the ledger records of an outcome batch: its counts, the digest of its body, and each
/// correction (which suggestion and period, and the counts it replaced).
public struct OutcomeLedgerDetails: Encodable, Sendable {
    public struct Correction: Encodable, Sendable, Equatable {
        public let kind: String
        public let item: String
        public let suggested: String
        public let periodStart: String
        public let periodEnd: String
        public let invitedBefore: Int64
        public let acceptedBefore: Int64
        public let invited: Int64
        public let accepted: Int64

        public init(replaced: OutcomeLine, by line: OutcomeLine) {
            kind = line.kind.rawValue
            item = line.item
            suggested = line.suggested
            periodStart = RFC3339.format(milliseconds: line.periodStart)
            periodEnd = RFC3339.format(milliseconds: line.periodEnd)
            invitedBefore = replaced.invited
            acceptedBefore = replaced.accepted
            invited = line.invited
            accepted = line.accepted
        }

        enum CodingKeys: String, CodingKey {
            case kind, item, suggested, invited, accepted
            case periodStart = "period_start"
            case periodEnd = "period_end"
            case invitedBefore = "invited_before"
            case acceptedBefore = "accepted_before"
        }
    }

    /// The most corrections one entry lists; `corrections_not_listed` counts the rest.
    public static let listedCorrections = 100

    public let batchID: Int64
    public let received: Int
    public let stored: Int
    public let replaced: Int
    public let bodySHA256: String
    public let corrections: [Correction]
    public let correctionsNotListed: Int

    public init(receipt: OutcomeReceipt, bodyDigest: [UInt8], corrections: [Correction]) {
        batchID = receipt.batchID
        received = receipt.received
        stored = receipt.stored
        replaced = receipt.replaced
        bodySHA256 = Hex.encode(bodyDigest)
        self.corrections = Array(corrections.prefix(Self.listedCorrections))
        correctionsNotListed = max(0, corrections.count - Self.listedCorrections)
    }

    enum CodingKeys: String, CodingKey {
        case received, stored, replaced, corrections
        case batchID = "batch_id"
        case bodySHA256 = "body_sha256"
        case correctionsNotListed = "corrections_not_listed"
    }
}

/// What the ledger records of a partner change.
public enum PartnerLedgerDetails {
    public static func added(name: String, keyID: String) -> [String: String] { ["name": name, "key_id": keyID] }
    public static func keyRotated(keyID: String) -> [String: String] { ["key_id": keyID] }
    public static func keyAdded(keyID: String, role: KeyRole, label: String?) -> [String: String] {
        var details = ["key_id": keyID, "role": role.rawValue]
        if let label { details["label"] = label }
        return details
    }
    public static func keyRevoked(keyID: String) -> [String: String] { ["key_id": keyID] }
    public static let disabled = ["status": "disabled"]
}

extension BatchKind {
    /// The ledger action that records a batch of this kind.
    public var ledgerAction: LedgerAction {
        switch self {
        case .consents: return .consentsBatch
        case .signals: return .signalsBatch
        case .revocations: return .revocationsBatch
        }
    }
}
