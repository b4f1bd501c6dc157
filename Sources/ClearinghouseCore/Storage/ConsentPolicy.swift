/// The one definition of "live consent": the consent that lets a signal be stored and counted.
///
/// Every backend, every statement and every count uses this rule, so that ingest, releases,
/// stats and audits never disagree about who has consented. The SQL form is plain enough for
/// SQLite and PostgreSQL alike (integer `&`, `IS NULL`).
public enum LiveConsent {
    /// A consent is live at `now` when it grants `affinity` and has not expired: it expires at
    /// `expiresAt` exactly, so a consent whose `expiresAt` equals `now` is no longer live.
    public static func isLive(purposes: UInt32, expiresAt: Int64?, at now: Int64) -> Bool {
        purposes & Purpose.affinity.bit != 0 && (expiresAt.map { $0 > now } ?? true)
    }

    /// The same rule as a SQL condition on the consent row `alias`, with `now` the SQL text
    /// of the time (a bound parameter such as `?3` or `$2`, or a literal).
    public static func sql(alias: String, now: String) -> String {
        "(\(alias).purposes & \(Purpose.affinity.bit)) != 0 AND (\(alias).expires_at IS NULL OR \(alias).expires_at > \(now))"
    }

    /// A consent has expired at `now` (it stays stored, authorising nothing, until a purge).
    public static func hasExpired(expiresAt: Int64?, at now: Int64) -> Bool {
        expiresAt.map { $0 <= now } ?? false
    }
}

/// Which committed changes can alter a partner's live consents: what a signal batch looked up
/// before it took the writer (which of its persons the partner holds live consent for) is still
/// true at its commit unless an entry of the ledger since is one of these. Only a partner's own
/// consent and revocation batches change its consents, and a purge (expiry) changes anyone's.
extension LedgerAction {
    /// Whether an entry of this action, written for the partner `entryPartner` (its slug, `nil`
    /// for none), may have changed which persons `partner` holds live consent for.
    public func mayChangeConsents(of partner: String, entryPartner: String?) -> Bool {
        switch self {
        case .consentsBatch, .revocationsBatch: return entryPartner == partner
        case .purge: return true
        case .signalsBatch, .outcomesBatch, .partnerAdded, .partnerKeyRotated, .partnerKeyAdded, .partnerKeyRevoked, .partnerDisabled,
            .releaseComputed, .exportWritten:
            return false
        }
    }

    /// The same for an action as stored: one this version does not know (written by a newer
    /// one) may have changed anything.
    public static func mayChangeConsents(stored action: String, of partner: String, entryPartner: String?) -> Bool {
        LedgerAction(rawValue: action)?.mayChangeConsents(of: partner, entryPartner: entryPartner) ?? true
    }
}

/// What a consent line does to the consent already stored for the same partner and person.
///
/// The rule: the consent granted later wins, whatever order the lines arrive in, so an older
/// line arriving late (a partner re-sending last month's export) never undoes a newer choice.
/// A tie replaces: the same grant sent again is the partner's latest word.
public enum ConsentMerge {
    public enum Decision: Equatable, Sendable {
        /// No consent was stored: store this one.
        case create
        /// Replace the stored consent. `erasesSignals`: the new consent drops `affinity`, so the
        /// partner's signals of this person must be erased in the same transaction.
        case replace(erasesSignals: Bool)
        /// The stored consent was granted later: keep it, and record the line as superseded.
        case supersede
    }

    public static func decide(
        stored: (grantedAt: Int64, purposes: UInt32)?, incomingGrantedAt: Int64, incomingPurposes: UInt32
    ) -> Decision {
        guard let stored else { return .create }
        if stored.grantedAt > incomingGrantedAt { return .supersede }
        let affinity = Purpose.affinity.bit
        return .replace(erasesSignals: stored.purposes & affinity != 0 && incomingPurposes & affinity == 0)
    }
}

/// Counts of a consent batch, kept the same way on every backend.
public struct ConsentBatchTally: Sendable, Equatable {
    public var created = 0
    public var replaced = 0
    public var superseded = 0
    public var alreadyExpired = 0
    public var signalsErased = 0

    public init() {}

    /// Counts one line's decision (and whether the stored consent is already past its expiry).
    public mutating func count(_ decision: ConsentMerge.Decision, expiresAt: Int64?, at now: Int64) {
        switch decision {
        case .create: created += 1
        case .replace: replaced += 1
        case .supersede:
            superseded += 1
            return
        }
        if LiveConsent.hasExpired(expiresAt: expiresAt, at: now) { alreadyExpired += 1 }
    }

    /// Writes the counts into the batch's receipt.
    public func fill(_ receipt: inout BatchReceipt) {
        receipt.accepted = created + replaced
        receipt.created = created
        receipt.replaced = replaced
        receipt.superseded = superseded
        receipt.alreadyExpired = alreadyExpired
        receipt.signalsErased = signalsErased
    }
}
