/// Everything the daemon and the admin CLI need from storage.
///
/// One protocol so that SQLite (the embedded default) and, later, PostgreSQL serve the same
/// domain. Implementations must make each call atomic: a batch is stored whole or not at all,
/// and a call that returns has been made durable.
public protocol ClearinghouseStore: Sendable {
    /// Records the pepper's fingerprint on first use and refuses a pepper that does not match.
    func bindPepper(fingerprint: String) async throws
    /// The pepper fingerprint bound to the database, `nil` before the first writing start.
    func pepperFingerprint() async throws -> String?

    /// Adds a partner with its first API key.
    func addPartner(id: PartnerID, name: String, key: APIKey, at now: Int64) async throws
    /// Replaces every upload key of a partner with `key`; the old ones stop working at once.
    /// Read keys stay (they are added and revoked one by one).
    func rotateKey(partner: PartnerID, key: APIKey, at now: Int64) async throws
    /// Disables a partner: its keys stop working; its data stays until revoked or purged.
    func disablePartner(_ partner: PartnerID, at now: Int64) async throws
    /// All partners, for the operator.
    func partners() async throws -> [PartnerSummary]
    /// The credential stored under an API key id, or `nil`.
    func credential(keyID: String) async throws -> StoredCredential?
    /// Gives a partner one more key with `role`, beside the keys it has; ledgered. Throws
    /// `partnerDisabled` for a disabled partner.
    func addKey(partner: PartnerID, key: APIKey, role: KeyRole, label: String?, at now: Int64) async throws
    /// Every key a partner has held, newest first: ids, roles and labels, never a secret.
    func keys(partner: PartnerID) async throws -> [KeySummary]
    /// Revokes one key of a partner (and so every portal session signed in with it); ledgered.
    /// Throws `keyNotFound` when the partner has no such live key.
    func revokeKey(partner: PartnerID, keyID: String, at now: Int64) async throws

    /// Stores a portal session (by the digest of its token, never the token) and drops the
    /// expired ones. Sessions live in the database so that every daemon on it honours them.
    func createPortalSession(_ session: NewPortalSession) async throws
    /// The live session with this token digest: unexpired at `now`, its key not revoked, its
    /// partner active; `nil` otherwise.
    func portalSession(digest: [UInt8], at now: Int64) async throws -> PortalSession?
    /// Ends a session (sign-out); nothing happens when there is none.
    func endPortalSession(digest: [UInt8]) async throws

    /// Stores a decoded batch for `partner` in one transaction. With an idempotency key, a
    /// batch already stored under that key is replayed (same body) or refused (other body).
    func ingest(_ batch: DecodedBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64) async throws
        -> IngestOutcome

    /// Stores a checked outcome batch for `partner` in one transaction: each line is new, or
    /// replaces the live report of its suggestion and period (a correction, listed in the
    /// batch's ledger entry; the replaced record is kept, marked). With an idempotency key, a
    /// batch already stored under it is replayed (same body) or refused (another body or kind).
    func storeOutcomes(_ batch: OutcomeBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64) async throws
        -> OutcomeStoreResult
    /// Outcome records, replaced ones included, oldest first: one partner's (or every partner's),
    /// and with `endingAfter` only those whose period ended after it.
    func outcomes(partner: String?, endingAfter: Int64?) async throws -> [OutcomeRecord]

    /// Counts for the operator: never row-level data.
    func stats(at now: Int64) async throws -> ClearinghouseStats

    /// Streams every signal under live `affinity` consent, grouped by person, from one database
    /// snapshot: `parts` disjoint person ranges, read by `concurrency` readers at a time, each
    /// reader with its own sink (made once per reader, kept across its ranges).
    func readReleaseSignals<Sink: PersonSignalSink & Sendable>(
        at now: Int64, parts: Int, concurrency: Int, makeSink: @escaping @Sendable (ReleaseCatalog) -> Sink
    ) async throws -> (catalog: ReleaseCatalog, sinks: [Sink])
    /// The exact bounded counts of a release computed in the database (`release.engine =
    /// database`), from one snapshot; `nil` when this backend has no such engine (SQLite).
    func databaseCounts(at now: Int64, bounds: ContributionBounds) async throws -> ExactCounts?
    /// The exact bounded counts of a release from this process's columnar copy of the signals
    /// (`release.engine = columnar`, ``SignalCopy``), built from one snapshot when missing;
    /// `nil` when this store keeps no copy (the caller scans with `readReleaseSignals`).
    func columnarCounts(at now: Int64, bounds: ContributionBounds, threads: Int) async throws -> ExactCounts?
    /// Builds the columnar copy if this store keeps one and has none yet.
    func prepareColumnarCopy() async throws
    /// The rho spent by the stored releases of a budget period.
    func spentRho(period: String) async throws -> Double
    /// Stores a release, re-checking the budget in the same transaction; returns its record.
    func storeRelease(_ release: NewRelease, budget: PrivacyBudget) async throws -> ReleaseRecord
    /// Every stored release, newest first.
    func releases() async throws -> [ReleaseRecord]
    /// One release, or the latest when `id` is `nil`.
    func release(id: Int64?) async throws -> ReleaseRecord?
    /// The released pairs of a release.
    func releasedTable(id: Int64) async throws -> ReleasedTable?

    /// Every ledger entry's hash, in sequence order: the leaves of the ledger's Merkle tree.
    func ledgerHashes() async throws -> [[UInt8]]
    /// The hashes of the entries after the first `count`, in sequence order.
    func ledgerHashes(after count: Int) async throws -> [[UInt8]]
    /// Ledger entries matching `filter`, oldest first.
    func ledgerEntries(_ filter: LedgerFilter) async throws -> [LedgerEntry]
    /// Recomputes the whole chain, checks it against the recorded head and the given receipts.
    func verifyLedger(receipts: [LedgerReceipt]) async throws -> LedgerVerification

    /// The consent audit as of `asOf`, for one partner or all.
    func consentAudit(asOf: Int64, partner: String?) async throws -> ConsentAuditReport

    /// Erases consents expired by `now` with their signals, signals observed before
    /// `signalsObservedBefore`, and person keys no consent holds any more; one ledger entry.
    func purge(at now: Int64, signalsObservedBefore: Int64) async throws -> PurgeOutcome

    /// The consent history of one person (by person key) at one partner.
    func consentHistory(partner: String, personKey: [UInt8], at now: Int64) async throws -> ConsentHistory

    /// Throws unless the database is open and fully migrated.
    /// Records in the ledger that an export folder was published; returns the entry's sequence.
    func recordExport(_ details: ExportLedgerDetails, partner: String, at now: Int64) async throws -> Int64

    func checkReady() async throws

    /// Takes or renews the lease `name` for `holder` until `now + ttl` (milliseconds), unless
    /// another holder's lease has not expired; returns whether `holder` holds it now. Atomic:
    /// of several daemons asking at once, one gets it. The scheduled release and retention run
    /// only in the daemon holding their lease (`SchedulerLease`).
    func acquireLease(_ name: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool
    /// Gives up a lease `holder` holds (at graceful shutdown), so another daemon takes it at once.
    func releaseLease(_ name: String, holder: String) async throws
    /// The holder of an unexpired lease, or `nil`.
    func leaseHolder(_ name: String, at now: Int64) async throws -> String?
}

/// Failures a store reports to its callers, each with what to do.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case partnerExists(String)
    case partnerNotFound(String)
    /// `partner` has no live key `keyID`.
    case keyNotFound(partner: String, keyID: String)
    /// A key was asked for a disabled partner: it could never be used.
    case partnerDisabled(String)
    case pepperMismatch
    case idempotencyConflict
    case notMigrated
    /// A write through a store opened for reading only (no pepper at hand).
    case readOnly
    /// SQLite groups signals by person in 32-bit columns to release them; ids beyond that (more
    /// than two billion persons, categories or signals) need PostgreSQL.
    case beyondColumnLimits
    /// The database was migrated by a newer version of clearinghouse.
    case newerSchema

    public var description: String {
        switch self {
        case .partnerExists(let id): return "partner '\(id)' already exists; use `partner rotate-key \(id)` for a new key"
        case .partnerNotFound(let id): return "no partner '\(id)'; `clearinghouse partner list` shows the partners"
        case .keyNotFound(let partner, let keyID):
            return "partner '\(partner)' has no live key '\(keyID)'; `clearinghouse partner keys \(partner)` lists its keys"
        case .partnerDisabled(let id):
            return "partner '\(id)' is disabled, so a new key could never be used; its data stays until revoked or purged"
        case .pepperMismatch:
            return "the pepper file does not belong to this database (its fingerprint differs); restore the original pepper.key"
        case .idempotencyConflict:
            return "this Idempotency-Key was already used with a different body"
        case .notMigrated:
            return "the database has no schema of this version yet; start the daemon (or any writing command) once on it to create it"
        case .readOnly:
            return "this command opened the database for reading only; commands that write need the daemon's pepper file (run them on the daemon's host, with its data directory)"
        case .beyondColumnLimits:
            return "the signals cannot be released from SQLite: person, category or signal counts exceed 2^31 - 1; move the data to PostgreSQL with `clearinghouse storage copy`"
        case .newerSchema:
            return "the database was written by a newer version of clearinghouse, whose schema this version does not know; run that version (going back a version is not supported)"
        }
    }
}

extension ClearinghouseStore {
    /// Stores without a columnar copy (PostgreSQL, where several daemons write one database and
    /// each would rebuild its copy after every other daemon's commit) scan instead.
    public func columnarCounts(at now: Int64, bounds: ContributionBounds, threads: Int) async throws -> ExactCounts? { nil }

    public func prepareColumnarCopy() async throws {}
}
