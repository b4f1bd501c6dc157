/// The consent audit: per partner, what consent covers the stored data, and whether the
/// invariants hold (every stored signal covered by consent, every revocation still erased).
///
/// What an operator hands a partner, an auditor or a regulator (GDPR Art. 7(1) demonstrable
/// consent, 7(3) and 17 withdrawal and erasure). Counts and times only, never a person.
public struct ConsentAuditReport: Sendable, Codable, Equatable {
    public var asOf: String
    public var partners: [PartnerConsentAudit]
    /// `PASS` when every partner passes, else `FAIL`.
    public var verdict: String

    public init(asOf: String, partners: [PartnerConsentAudit]) {
        self.asOf = asOf
        self.partners = partners
        self.verdict = partners.allSatisfy { $0.verdict == "PASS" } ? "PASS" : "FAIL"
    }

    enum CodingKeys: String, CodingKey {
        case partners, verdict
        case asOf = "as_of"
    }
}

/// One partner's lines of the consent audit.
public struct PartnerConsentAudit: Sendable, Codable, Equatable {
    public var partner: String
    public var status: String
    /// Live consents (granted by the as-of time and not expired) per purpose.
    public var liveByPurpose: [String: Int]
    public var expired: Int
    /// Revocations honoured, and when the first and latest erasures happened (each erasure
    /// commits with its revocation).
    public var revoked: Int
    public var firstErasureAt: String?
    public var lastErasureAt: String?
    public var liveWithoutProof: Int
    public var oldestGrant: String?
    public var newestGrant: String?
    public var signals: Int
    /// Signals with no consent of this partner for their person at all: must be 0.
    public var signalsWithoutConsent: Int
    /// Signals whose consent has expired: excluded from releases, removed by the next purge.
    public var signalsAwaitingPurge: Int
    /// Revoked persons whose consent or signals from before the revocation are back: must be 0.
    public var revocationsNotErased: Int
    /// Why the verdict is FAIL (empty when PASS).
    public var problems: [String]
    public var verdict: String

    public init(
        partner: String, status: String, liveByPurpose: [String: Int], expired: Int, revoked: Int, firstErasureAt: String?,
        lastErasureAt: String?, liveWithoutProof: Int, oldestGrant: String?, newestGrant: String?, signals: Int,
        signalsWithoutConsent: Int, signalsAwaitingPurge: Int, revocationsNotErased: Int, extraProblems: [String] = []
    ) {
        self.partner = partner
        self.status = status
        self.liveByPurpose = liveByPurpose
        self.expired = expired
        self.revoked = revoked
        self.firstErasureAt = firstErasureAt
        self.lastErasureAt = lastErasureAt
        self.liveWithoutProof = liveWithoutProof
        self.oldestGrant = oldestGrant
        self.newestGrant = newestGrant
        self.signals = signals
        self.signalsWithoutConsent = signalsWithoutConsent
        self.signalsAwaitingPurge = signalsAwaitingPurge
        self.revocationsNotErased = revocationsNotErased
        var problems = extraProblems
        if signalsWithoutConsent > 0 {
            problems.append("\(signalsWithoutConsent) signals are stored without any consent of this partner")
        }
        if revocationsNotErased > 0 {
            problems.append("\(revocationsNotErased) revoked persons have consent or signals from before their revocation")
        }
        self.problems = problems
        self.verdict = problems.isEmpty ? "PASS" : "FAIL"
    }

    enum CodingKeys: String, CodingKey {
        case partner, status, expired, revoked, signals, problems, verdict
        case liveByPurpose = "live_by_purpose"
        case firstErasureAt = "first_erasure_at"
        case lastErasureAt = "last_erasure_at"
        case liveWithoutProof = "live_without_proof"
        case oldestGrant = "oldest_grant"
        case newestGrant = "newest_grant"
        case signalsWithoutConsent = "signals_without_consent"
        case signalsAwaitingPurge = "signals_awaiting_purge"
        case revocationsNotErased = "revocations_not_erased"
    }
}
