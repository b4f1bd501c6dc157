import GRDB

/// The signals one transaction erases, by partner and person, deleted together before it commits.
///
/// The signal table has no person index (see ``SignalSpans``), so erasure reads the erasing
/// partner's rows: once per transaction for all of that partner's persons, not once per person.
/// A revocation batch, a consent batch that drops `affinity` and a purge each collect their
/// persons here while they delete the consents, then call ``run(_:)`` in the same transaction,
/// so the erasure commits with them or not at all.
struct SignalErasure {
    private var persons: [Int64: Set<Int64>] = [:]

    mutating func add(partner: Int64, person: Int64) {
        persons[partner, default: []].insert(person)
    }

    var isEmpty: Bool { persons.isEmpty }

    /// Deletes every signal of the collected (partner, person) pairs; returns how many.
    func run(_ db: Database) throws -> Int {
        var erased = 0
        for partner in persons.keys.sorted() {
            let wanted = persons[partner]!
            if wanted.count == 1, let person = wanted.first {
                // One person (a single revocation): SQLite filters the rows itself.
                let delete = try RawStatement(
                    db, sql: "DELETE FROM signal WHERE id BETWEEN ?1 AND ?2 AND partner_id = ?3 AND person_id = ?4")
                for span in try SignalSpans.of(db, partner: partner) {
                    delete.reset()
                    delete.bind(1, span.lowerBound)
                    delete.bind(2, span.upperBound)
                    delete.bind(3, partner)
                    delete.bind(4, person)
                    try delete.run()
                    erased += delete.changes
                }
            } else {
                let delete = try RawStatement(db, sql: "DELETE FROM signal WHERE id = ?1")
                try SignalSpans.forEachSignal(db, partner: partner) { id, person, _ in
                    guard wanted.contains(person) else { return }
                    delete.reset()
                    delete.bind(1, id)
                    try delete.run()
                    erased += delete.changes
                }
            }
        }
        return erased
    }
}
