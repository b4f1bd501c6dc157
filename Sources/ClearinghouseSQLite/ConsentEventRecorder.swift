import ClearinghouseCore
import GRDB

/// Writes the consent history (granted, replaced, superseded, revoked, expired) of each person
/// at each partner under the person's audit pseudonym, inside the batch's transaction.
///
/// It is what `clearinghouse consent lookup` reads to answer one data subject, and it outlives
/// the person key (GDPR Art. 7(1): the operator can show consent and its withdrawal after the
/// erasure). Append-only, with no index on the pseudonym, so it costs ingest one sequential
/// insert per line; a lookup scans it, which is rare and operator-driven.
struct ConsentEventRecorder {
    enum Event {
        case granted, replaced, superseded, revoked, expired

        /// The stored name, as static bytes (bound without copying).
        var name: StaticString {
            switch self {
            case .granted: return "granted"
            case .replaced: return "replaced"
            case .superseded: return "superseded"
            case .revoked: return "revoked"
            case .expired: return "expired"
            }
        }
    }

    private let insert: RawStatement
    private let pseudonymizer: AuditPseudonymizer
    private let partnerID: Int64
    private let batchID: Int64?
    private let now: Int64

    init?(_ db: Database, pseudonymizer: AuditPseudonymizer?, partnerID: Int64, batchID: Int64?, now: Int64) throws {
        guard let pseudonymizer else { return nil }
        insert = try RawStatement(
            db,
            sql: """
                INSERT INTO consent_event (partner_id, pseudonym, event, purposes, granted_at, expires_at, proof, batch_id, at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                """)
        self.pseudonymizer = pseudonymizer
        self.partnerID = partnerID
        self.batchID = batchID
        self.now = now
    }

    func record(
        _ event: Event, personKey: UnsafeRawBufferPointer, purposes: Int64? = nil, grantedAt: Int64? = nil,
        expiresAt: Int64? = nil, proof: UnsafeRawBufferPointer? = nil
    ) throws {
        let pseudonym = pseudonymizer.pseudonym(of: personKey)
        let name = event.name
        try pseudonym.withUnsafeBytes { pseudonymBytes in
            insert.reset()
            insert.bind(1, partnerID)
            insert.bind(2, blob: pseudonymBytes)
            insert.bind(3, textOrNull: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            insert.bind(4, purposes)
            insert.bind(5, grantedAt)
            insert.bind(6, expiresAt)
            insert.bind(7, textOrNull: proof ?? UnsafeRawBufferPointer(start: nil, count: 0))
            insert.bind(8, batchID)
            insert.bind(9, now)
            try insert.run()
        }
    }
}
