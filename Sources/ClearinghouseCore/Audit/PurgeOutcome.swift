/// What a purge erased (counts only), as recorded in the ledger and printed by `purge`.
public struct PurgeOutcome: Sendable, Codable, Equatable {
    public var expiredConsents: Int
    public var signalsOfExpiredConsents: Int
    public var signalsPastRetention: Int
    public var personsErased: Int
    /// The ledger entry recording the purge (`nil` when nothing was erased).
    public var ledgerSequence: Int64?

    public init(expiredConsents: Int = 0, signalsOfExpiredConsents: Int = 0, signalsPastRetention: Int = 0, personsErased: Int = 0) {
        self.expiredConsents = expiredConsents
        self.signalsOfExpiredConsents = signalsOfExpiredConsents
        self.signalsPastRetention = signalsPastRetention
        self.personsErased = personsErased
    }

    public var erasedAnything: Bool {
        expiredConsents + signalsOfExpiredConsents + signalsPastRetention + personsErased > 0
    }

    enum CodingKeys: String, CodingKey {
        case expiredConsents = "expired_consents"
        case signalsOfExpiredConsents = "signals_of_expired_consents"
        case signalsPastRetention = "signals_past_retention"
        case personsErased = "persons_erased"
        case ledgerSequence = "ledger_sequence"
    }
}
