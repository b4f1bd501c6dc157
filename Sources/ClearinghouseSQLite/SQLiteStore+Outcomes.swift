import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func storeOutcomes(
        _ batch: OutcomeBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64
    ) async throws -> OutcomeStoreResult {
        _ = try writingPseudonymizer()
        return try await writer.write { db -> OutcomeStoreResult in
            // SQLite's single writer: no other batch can replace the same report in between;
            // the partial unique index on live reports holds on every backend anyway.
            if let idempotencyKey, let earlier = try Self.earlierOutcomeBatch(partner: partner, key: idempotencyKey, db) {
                return .replayed(try earlier.replay(of: batch))
            }
            try db.execute(
                sql: """
                    INSERT INTO batch (partner_id, kind, received, accepted, body_sha256, idempotency_key, receipt, created_at)
                    VALUES (?, ?, ?, 0, ?, ?, '', ?)
                    """,
                arguments: [
                    partner.rowID, EarlierOutcomeBatch.kind, batch.records.count, Data(batch.bodyDigest), idempotencyKey, now,
                ])
            let batchID = db.lastInsertedRowID
            var receipt = OutcomeReceipt(batchID: batchID, received: batch.records.count)
            var corrections: [OutcomeLedgerDetails.Correction] = []
            for record in batch.records {
                let line = record.line
                let key: [any DatabaseValueConvertible] = [
                    partner.rowID, line.kind.rawValue, line.item, line.suggested, line.periodStart, line.periodEnd,
                ]
                if let earlier = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, invited, accepted FROM outcome WHERE partner_id = ? AND kind = ? AND item = ? AND suggested = ?
                        AND period_start = ? AND period_end = ? AND replaced_at IS NULL
                        """, arguments: StatementArguments(key))
                {
                    var replaced = line
                    replaced.invited = earlier[1]
                    replaced.accepted = earlier[2]
                    corrections.append(.init(replaced: replaced, by: line))
                    try db.execute(sql: "UPDATE outcome SET replaced_at = ? WHERE id = ?", arguments: [now, earlier[0] as Int64])
                    receipt.replaced += 1
                } else {
                    receipt.stored += 1
                }
                try db.execute(
                    sql: """
                        INSERT INTO outcome (partner_id, batch_id, release_id, kind, item, suggested, period_start, period_end,
                            invited, accepted, in_baseline, mode, recorded_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        partner.rowID, batchID, line.release, line.kind.rawValue, line.item, line.suggested, line.periodStart,
                        line.periodEnd, line.invited, line.accepted, record.inBaseline, record.mode.rawValue, now,
                    ])
            }
            let entry = try LedgerAppender.append(
                db, action: .outcomesBatch, partner: partner.id,
                details: OutcomeLedgerDetails(receipt: receipt, bodyDigest: batch.bodyDigest, corrections: corrections), at: now, signals: .unchanged, copy: signalCopy)
            receipt.ledgerSequence = entry.sequence
            receipt.ledgerHash = Hex.encode(entry.hash)
            try db.execute(
                sql: "UPDATE batch SET accepted = ?, receipt = ? WHERE id = ?",
                arguments: [batch.records.count, try receipt.storedJSON(), batchID])
            receipt.storedAt = RFC3339.format(milliseconds: now)
            receipt.replayed = false
            return .stored(receipt)
        }
    }

    public func outcomes(partner: String?, endingAfter: Int64?) async throws -> [OutcomeRecord] {
        try await writer.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let partner {
                conditions.append("p.slug = ?")
                arguments.append(partner)
            }
            if let endingAfter {
                conditions.append("o.period_end > ?")
                arguments.append(endingAfter)
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT p.slug, o.release_id, o.kind, o.item, o.suggested, o.invited, o.accepted, o.period_start, o.period_end,
                        o.in_baseline, o.mode, o.recorded_at, o.replaced_at
                    FROM outcome o JOIN partner p ON p.id = o.partner_id \(filter) ORDER BY o.id
                    """, arguments: StatementArguments(arguments)
            ).map { row in
                OutcomeRecord(
                    partner: row[0],
                    line: OutcomeLine(
                        release: row[1], kind: RecommendationKind(rawValue: row[2]) ?? .cross, item: row[3], suggested: row[4],
                        invited: row[5], accepted: row[6], periodStart: row[7], periodEnd: row[8]),
                    inBaseline: row[9], mode: SuggestionMode(rawValue: row[10]) ?? .exploit, recordedAt: row[11], replacedAt: row[12])
            }
        }
    }

    private static func earlierOutcomeBatch(partner: AuthenticatedPartner, key: String, _ db: Database) throws -> EarlierOutcomeBatch? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT kind, body_sha256, receipt, created_at FROM batch WHERE partner_id = ? AND idempotency_key = ?",
                arguments: [partner.rowID, key])
        else { return nil }
        return EarlierOutcomeBatch(kind: row[0], bodyDigest: Array(row[1] as Data), receiptJSON: row[2], createdAt: row[3])
    }
}
