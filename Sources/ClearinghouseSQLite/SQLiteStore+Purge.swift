import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func purge(at now: Int64, signalsObservedBefore: Int64) async throws -> PurgeOutcome {
        let outcome = try await writer.write { db -> PurgeOutcome in
            var outcome = PurgeOutcome()
            // The history keeps that each expired consent was purged, under its pseudonym.
            var recorders: [Int64: ConsentEventRecorder] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT c.partner_id, p.key, c.person_id FROM consent c
                    JOIN person p ON p.id = c.person_id WHERE c.expires_at IS NOT NULL AND c.expires_at <= ?
                    """, arguments: [now])
            {
                let partnerID: Int64 = row[0]
                if recorders[partnerID] == nil {
                    recorders[partnerID] = try ConsentEventRecorder(
                        db, pseudonymizer: pseudonymizer, partnerID: partnerID, batchID: nil, now: now)
                }
                let key: Data = row[1]
                let recorder = recorders[partnerID]
                try key.withUnsafeBytes { bytes in
                    try recorder?.recordEnding(.expired, personKey: bytes, personID: row[2])
                }
            }
            try db.execute(
                sql: """
                    DELETE FROM signal WHERE EXISTS (
                        SELECT 1 FROM consent c WHERE c.partner_id = signal.partner_id AND c.person_id = signal.person_id
                          AND c.expires_at IS NOT NULL AND c.expires_at <= ?)
                    """, arguments: [now])
            outcome.signalsOfExpiredConsents = db.changesCount
            try db.execute(sql: "DELETE FROM consent WHERE expires_at IS NOT NULL AND expires_at <= ?", arguments: [now])
            outcome.expiredConsents = db.changesCount
            try db.execute(sql: "DELETE FROM signal WHERE observed_at < ?", arguments: [signalsObservedBefore])
            outcome.signalsPastRetention = db.changesCount
            try db.execute(sql: "DELETE FROM person WHERE NOT EXISTS (SELECT 1 FROM consent WHERE consent.person_id = person.id)")
            outcome.personsErased = db.changesCount
            if outcome.erasedAnything {
                let entry = try LedgerAppender.append(db, action: .purge, partner: nil, details: outcome, at: now)
                outcome.ledgerSequence = entry.sequence
            }
            return outcome
        }
        if outcome.personsErased > 0 || outcome.erasedAnything { await removeErasedCopies() }
        logger.info(
            "purge done",
            metadata: [
                "purge.expired_consents": "\(outcome.expiredConsents)", "purge.signals_erased": "\(outcome.signalsOfExpiredConsents + outcome.signalsPastRetention)",
                "purge.persons_erased": "\(outcome.personsErased)",
            ])
        return outcome
    }
}
