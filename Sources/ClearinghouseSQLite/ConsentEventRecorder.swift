import ClearinghouseCore
import GRDB

/// Writes the consent history of each person at each partner under the person's audit
/// pseudonym, inside the transaction of the change: every consent that ends (replaced by a
/// later one, revoked, expired and purged) is copied here with how and when it ended, and
/// every line that arrived too late to apply (superseded) is kept too.
///
/// Together with the live consent row, it is what `clearinghouse consent lookup` shows one data
/// subject, and it outlives the person key (GDPR Art. 7(1): the operator can show consent and
/// its withdrawal after the erasure). A first grant writes nothing here (the consent row is
/// its record), so bulk uploads pay nothing; a lookup scans the table, which is rare.
struct ConsentEventRecorder {
    enum Event {
        case replaced, superseded, revoked, expired

        /// The stored name, as static bytes (bound without copying).
        var name: StaticString {
            switch self {
            case .replaced: return "replaced"
            case .superseded: return "superseded"
            case .revoked: return "revoked"
            case .expired: return "expired"
            }
        }
    }

    private let insert: RawStatement
    private let copyCurrent: RawStatement
    private let pseudonymizer: AuditPseudonymizer
    private let partnerID: Int64
    private let batchID: Int64?
    private let now: Int64

    init(_ db: Database, pseudonymizer: AuditPseudonymizer, partnerID: Int64, batchID: Int64?, now: Int64) throws {
        insert = try RawStatement(
            db,
            sql: """
                INSERT INTO consent_event (partner_id, pseudonym, event, purposes, granted_at, expires_at, proof, batch_id, at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                """)
        copyCurrent = try RawStatement(
            db,
            sql: """
                INSERT INTO consent_event (partner_id, pseudonym, event, purposes, granted_at, expires_at, proof, batch_id, at)
                SELECT partner_id, ?2, ?3, purposes, granted_at, expires_at, proof, batch_id, ?4
                FROM consent WHERE partner_id = ?1 AND person_id = ?5
                """)
        self.pseudonymizer = pseudonymizer
        self.partnerID = partnerID
        self.batchID = batchID
        self.now = now
    }

    /// Copies the partner's current consent for `personID` into the history, as ended by `event`
    /// now. Call before the consent row changes.
    func recordEnding(_ event: Event, personKey: UnsafeRawBufferPointer, personID: Int64) throws {
        try run(copyCurrent, event, personKey: personKey) {
            copyCurrent.bind(4, now)
            copyCurrent.bind(5, personID)
        }
    }

    /// Keeps a line that did not apply (superseded), with its own values.
    func record(
        _ event: Event, personKey: UnsafeRawBufferPointer, purposes: Int64? = nil, grantedAt: Int64? = nil,
        expiresAt: Int64? = nil, proof: UnsafeRawBufferPointer? = nil
    ) throws {
        try run(insert, event, personKey: personKey) {
            insert.bind(4, purposes)
            insert.bind(5, grantedAt)
            insert.bind(6, expiresAt)
            insert.bind(7, textOrNull: proof ?? UnsafeRawBufferPointer(start: nil, count: 0))
            insert.bind(8, batchID)
            insert.bind(9, now)
        }
    }

    /// Binds what both statements share (partner ?1, pseudonym ?2, event ?3), then the rest, and runs.
    private func run(
        _ statement: RawStatement, _ event: Event, personKey: UnsafeRawBufferPointer, bindRest: () -> Void
    ) throws {
        let pseudonym = pseudonymizer.pseudonym(of: personKey)
        let name = event.name
        try pseudonym.withUnsafeBytes { pseudonymBytes in
            statement.reset()
            statement.bind(1, partnerID)
            statement.bind(2, blob: pseudonymBytes)
            statement.bind(3, textOrNull: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            bindRest()
            try statement.run()
        }
    }
}
