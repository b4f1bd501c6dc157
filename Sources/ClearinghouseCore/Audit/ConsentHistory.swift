/// One data subject's consent history at one partner, for `clearinghouse consent lookup`.
///
/// Found by re-keying the subject's token (the operator answering a request holds it), so it
/// shows that person only; times and proof references, no key or token.
public struct ConsentHistory: Sendable, Codable, Equatable {
    public struct Event: Sendable, Codable, Equatable {
        /// How the consent ended: replaced (by a later one), revoked, expired (purged); or
        /// superseded (a line older than the consent held, never applied); or current.
        public var event: String
        /// When it ended (or arrived, for superseded and current: when it was stored).
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
    /// Consents that ended and lines that did not apply, oldest first.
    public var events: [Event]
    /// The consent the partner holds now, if any.
    public var current: Event?
    /// Whether the partner holds live consent for `affinity` now, and how many signals.
    public var liveConsent: Bool
    public var signals: Int

    public init(partner: String, events: [Event], current: Event?, liveConsent: Bool, signals: Int) {
        self.partner = partner
        self.events = events
        self.current = current
        self.liveConsent = liveConsent
        self.signals = signals
    }

    enum CodingKeys: String, CodingKey {
        case partner, events, signals, current
        case liveConsent = "live_consent"
    }
}
