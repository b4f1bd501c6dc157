/// One data subject's consent history at one partner, for `clearinghouse consent lookup`.
///
/// Found by re-keying the subject's token (the operator answering a request holds it), so it
/// shows that person only; times and proof references, no key or token.
public struct ConsentHistory: Sendable, Codable, Equatable {
    public struct Event: Sendable, Codable, Equatable {
        /// granted, replaced, superseded, revoked or expired.
        public var event: String
        public var at: String
        public var purposes: [String]?
        public var grantedAt: String?
        public var expiresAt: String?
        public var proof: String?

        public init(event: String, at: String, purposes: [String]?, grantedAt: String?, expiresAt: String?, proof: String?) {
            self.event = event
            self.at = at
            self.purposes = purposes
            self.grantedAt = grantedAt
            self.expiresAt = expiresAt
            self.proof = proof
        }

        enum CodingKeys: String, CodingKey {
            case event, at, purposes, proof
            case grantedAt = "granted_at"
            case expiresAt = "expires_at"
        }
    }

    public var partner: String
    public var events: [Event]
    /// Whether the partner holds live consent for `affinity` now, and how many signals.
    public var liveConsent: Bool
    public var signals: Int

    public init(partner: String, events: [Event], liveConsent: Bool, signals: Int) {
        self.partner = partner
        self.events = events
        self.liveConsent = liveConsent
        self.signals = signals
    }

    enum CodingKeys: String, CodingKey {
        case partner, events, signals
        case liveConsent = "live_consent"
    }
}
