import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func purge(at now: Int64, signalsObservedBefore: Int64) async throws -> PurgeOutcome {
        let pseudonymizer = try writingPseudonymizer()
        let outcome = try await writer.write { db -> PurgeOutcome in
            var outcome = PurgeOutcome()
            // Signals outside their partner's spans (by hand, or by a version before spans) get
            // spans first, so the erasures below find them.
            let covered = try SignalSpans.recordUncovered(db)
            if covered > 0 {
                logger.warning("signals outside their partner's spans were given spans", metadata: ["purge.signals_covered": "\(covered)"])
            }
            // Each expired consent (found by index), with its signals and, once unheld, the
            // person key; the history keeps that it expired, under the person's pseudonym.
            var eraser = try ConsentEraser(db)
            var recorders: [Int64: ConsentEventRecorder] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT c.partner_id, c.person_id, p.key FROM consent c
                    JOIN person p ON p.id = c.person_id WHERE c.expires_at IS NOT NULL AND c.expires_at <= ?
                    """, arguments: [now])
            {
                let partnerID: Int64 = row[0]
                let personID: Int64 = row[1]
                let key: Data = row[2]
                let recorder = try recorders[partnerID]
                    ?? ConsentEventRecorder(db, pseudonymizer: pseudonymizer, partnerID: partnerID, batchID: nil, now: now)
                recorders[partnerID] = recorder
                try key.withUnsafeBytes { bytes in
                    try recorder.recordEnding(.expired, personKey: bytes, personID: personID)
                }
                let erased = try eraser.erase(partner: partnerID, person: personID)
                outcome.expiredConsents += erased.consents
                outcome.personsErased += erased.persons
            }
            outcome.signalsOfExpiredConsents = try eraser.eraseSignals()
            // No index on observed_at: one pass over the table, as often as retention runs.
            try db.execute(sql: "DELETE FROM signal WHERE observed_at < ?", arguments: [signalsObservedBefore])
            outcome.signalsPastRetention = db.changesCount
            // Spans left empty would only cost erasure a look each.
            _ = try SignalSpans.prune(db)
            if outcome.erasedAnything {
                let entry = try LedgerAppender.append(db, action: .purge, partner: nil, details: outcome, at: now, signals: .unknown, copy: signalCopy)
                outcome.ledgerSequence = entry.sequence
            }
            return outcome
        }
        // Before anything else: the directories hold key prefixes of the persons just erased.
        if let sequence = outcome.ledgerSequence { consentDirectories.dropAll(changedAt: sequence) }
        if outcome.erasedAnything { await removeErasedCopies() }
        logger.info(
            "purge done",
            metadata: [
                "purge.expired_consents": "\(outcome.expiredConsents)", "purge.signals_erased": "\(outcome.signalsOfExpiredConsents + outcome.signalsPastRetention)",
                "purge.persons_erased": "\(outcome.personsErased)",
            ])
        return outcome
    }
}
