import GRDB

/// Erases one partner's consent for one person with every signal that consent covered, and the
/// person key once no partner holds consent for that person any more.
///
/// The one mechanism behind revocations and purges of expired consent, so both erase the same
/// things in the same way. Consents and person keys go at once, through their indexes (`consent`
/// primary key, `consent_by_person`); the signals are collected and erased together by
/// ``eraseSignals()`` (the signal table has no person index: see ``SignalErasure``), which the
/// caller runs before its transaction commits.
struct ConsentEraser {
    struct Erased {
        var consents = 0
        var persons = 0
    }

    private let deleteConsent: RawStatement
    private let deleteOrphan: RawStatement
    private let db: Database
    private var signals = SignalErasure()

    init(_ db: Database) throws {
        self.db = db
        deleteConsent = try RawStatement(db, sql: "DELETE FROM consent WHERE partner_id = ?1 AND person_id = ?2")
        deleteOrphan = try RawStatement(
            db, sql: "DELETE FROM person WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM consent WHERE person_id = ?1)")
    }

    /// Deletes the consent (and the person key, once unheld); its signals wait for ``eraseSignals()``.
    mutating func erase(partner partnerID: Int64, person personID: Int64) throws -> Erased {
        var erased = Erased()
        deleteConsent.reset()
        deleteConsent.bind(1, partnerID)
        deleteConsent.bind(2, personID)
        try deleteConsent.run()
        erased.consents = deleteConsent.changes
        signals.add(partner: partnerID, person: personID)
        deleteOrphan.reset()
        deleteOrphan.bind(1, personID)
        try deleteOrphan.run()
        erased.persons = deleteOrphan.changes
        return erased
    }

    /// Erases the signals of every consent erased so far; returns how many signals.
    func eraseSignals() throws -> Int {
        try signals.run(db)
    }
}
