import GRDB

/// Erases one partner's consent for one person with every signal that consent covered, and the
/// person key once no partner holds consent for that person any more.
///
/// The one mechanism behind revocations and purges of expired consent, so both erase the same
/// things in the same way; every statement goes through an index (`consent` primary key,
/// `signal_by_person_for_release`, `consent_by_person`).
struct ConsentEraser {
    struct Erased {
        var consents = 0
        var signals = 0
        var persons = 0
    }

    private let deleteConsent: RawStatement
    private let eraseSignals: RawStatement
    private let deleteOrphan: RawStatement

    init(_ db: Database) throws {
        deleteConsent = try RawStatement(db, sql: "DELETE FROM consent WHERE partner_id = ?1 AND person_id = ?2")
        eraseSignals = try RawStatement(db, sql: "DELETE FROM signal WHERE person_id = ?1 AND partner_id = ?2")
        deleteOrphan = try RawStatement(
            db, sql: "DELETE FROM person WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM consent WHERE person_id = ?1)")
    }

    func erase(partner partnerID: Int64, person personID: Int64) throws -> Erased {
        var erased = Erased()
        deleteConsent.reset()
        deleteConsent.bind(1, partnerID)
        deleteConsent.bind(2, personID)
        try deleteConsent.run()
        erased.consents = deleteConsent.changes
        eraseSignals.reset()
        eraseSignals.bind(1, personID)
        eraseSignals.bind(2, partnerID)
        try eraseSignals.run()
        erased.signals = eraseSignals.changes
        deleteOrphan.reset()
        deleteOrphan.bind(1, personID)
        try deleteOrphan.run()
        erased.persons = deleteOrphan.changes
        return erased
    }
}
