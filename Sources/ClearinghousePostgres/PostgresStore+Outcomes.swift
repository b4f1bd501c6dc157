import ClearinghouseCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func storeOutcomes(
        _ batch: OutcomeBatch, partner: AuthenticatedPartner, idempotencyKey: String?, at now: Int64
    ) async throws -> OutcomeStoreResult {
        _ = try writingPseudonymizer()
        return try await write { connection in
            // SQLite's single writer makes "find the live report, mark it, add the new one" one
            // step; here several daemons may write at once, so one partner's outcome batches
            // take that partner's lock and run one at a time (a retry under the same key waits,
            // then replays).
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("outcomes:\(partner.rowID)"), 0))", logger: logger)
            if let idempotencyKey {
                // The lock every batch takes for its key: a signal batch sent at once under the
                // same key waits, then finds this one (a conflict), rather than the unique index.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\("batch:\(partner.rowID):\(idempotencyKey)"), 0))",
                    logger: logger)
                let rows = try await connection.query(
                    """
                    SELECT kind, body_sha256, receipt, created_at FROM batch
                    WHERE partner_id = \(partner.rowID) AND idempotency_key = \(idempotencyKey)
                    """, logger: logger)
                for try await (kind, digest, receipt, createdAt) in rows.decode((String, ByteBuffer, String, Int64).self) {
                    let earlier = EarlierOutcomeBatch(kind: kind, bodyDigest: digest.bytes, receiptJSON: receipt, createdAt: createdAt)
                    return .replayed(try earlier.replay(of: batch))
                }
            }
            let batchID = try await connection.query(
                """
                INSERT INTO batch (partner_id, kind, received, accepted, body_sha256, idempotency_key, receipt, created_at)
                VALUES (\(partner.rowID), \(EarlierOutcomeBatch.kind), \(Int64(batch.records.count)), 0, \(batch.bodyDigest.buffer),
                        \(idempotencyKey), '', \(now))
                RETURNING id
                """, logger: logger
            ).single(Int64.self)
            var receipt = OutcomeReceipt(batchID: batchID, received: batch.records.count)
            let lines = batch.records.map(\.line)
            // The live reports this batch corrects, in one lookup.
            var live: [OutcomeKey: (id: Int64, invited: Int64, accepted: Int64)] = [:]
            let found = try await connection.query(
                """
                SELECT o.id, o.kind, o.item, o.suggested, o.period_start, o.period_end, o.invited, o.accepted
                FROM outcome o JOIN unnest(\(lines.map(\.kind.rawValue))::text[], \(lines.map(\.item))::text[],
                    \(lines.map(\.suggested))::text[], \(lines.map(\.periodStart))::bigint[], \(lines.map(\.periodEnd))::bigint[])
                    AS l(kind, item, suggested, period_start, period_end)
                  ON o.kind = l.kind AND o.item = l.item AND o.suggested = l.suggested AND o.period_start = l.period_start
                 AND o.period_end = l.period_end
                WHERE o.partner_id = \(partner.rowID) AND o.replaced_at IS NULL
                """, logger: logger)
            for try await (id, kind, item, suggested, start, end, invited, accepted) in found.decode(
                (Int64, String, String, String, Int64, Int64, Int64, Int64).self)
            {
                let key = OutcomeKey(
                    kind: RecommendationKind(rawValue: kind) ?? .cross, item: item, suggested: suggested, periodStart: start, periodEnd: end)
                live[key] = (id, invited, accepted)
            }
            var corrections: [OutcomeLedgerDetails.Correction] = []
            for line in lines {
                if let earlier = live[line.key] {
                    var replaced = line
                    replaced.invited = earlier.invited
                    replaced.accepted = earlier.accepted
                    corrections.append(.init(replaced: replaced, by: line))
                    receipt.replaced += 1
                } else {
                    receipt.stored += 1
                }
            }
            let replacedIDs = lines.compactMap { live[$0.key]?.id }
            if !replacedIDs.isEmpty {
                try await connection.query(
                    "UPDATE outcome SET replaced_at = \(now) WHERE id = ANY(\(replacedIDs)::bigint[])", logger: logger)
            }
            let records = batch.records
            try await connection.query(
                """
                INSERT INTO outcome (partner_id, batch_id, release_id, kind, item, suggested, period_start, period_end, invited,
                    accepted, in_baseline, mode, recorded_at)
                SELECT \(partner.rowID), \(batchID), r.release_id, r.kind, r.item, r.suggested, r.period_start, r.period_end,
                    r.invited, r.accepted, r.in_baseline, r.mode, \(now)
                FROM unnest(\(lines.map(\.release))::bigint[], \(lines.map(\.kind.rawValue))::text[], \(lines.map(\.item))::text[],
                    \(lines.map(\.suggested))::text[], \(lines.map(\.periodStart))::bigint[], \(lines.map(\.periodEnd))::bigint[],
                    \(lines.map(\.invited))::bigint[], \(lines.map(\.accepted))::bigint[], \(records.map(\.inBaseline))::boolean[],
                    \(records.map(\.mode.rawValue))::text[])
                    AS r(release_id, kind, item, suggested, period_start, period_end, invited, accepted, in_baseline, mode)
                """, logger: logger)
            let entry = try await PostgresLedger.append(
                connection, action: .outcomesBatch, partner: partner.id,
                details: OutcomeLedgerDetails(receipt: receipt, bodyDigest: batch.bodyDigest, corrections: corrections), at: now,
                logger: logger)
            receipt.ledgerSequence = entry.sequence
            receipt.ledgerHash = Hex.encode(entry.hash)
            try await connection.query(
                """
                UPDATE batch SET accepted = \(Int64(records.count)), receipt = \(try receipt.storedJSON()) WHERE id = \(batchID)
                """, logger: logger)
            receipt.storedAt = RFC3339.format(milliseconds: now)
            receipt.replayed = false
            return .stored(receipt)
        }
    }

    public func outcomes(partner: String?, endingAfter: Int64?) async throws -> [OutcomeRecord] {
        let rows = try await fetch(
            """
            SELECT p.slug, o.release_id, o.kind, o.item, o.suggested, o.invited, o.accepted, o.period_start, o.period_end,
                o.in_baseline, o.mode, o.recorded_at, o.replaced_at
            FROM outcome o JOIN partner p ON p.id = o.partner_id
            WHERE (\(partner)::text IS NULL OR p.slug = \(partner)) AND (\(endingAfter)::bigint IS NULL OR o.period_end > \(endingAfter))
            ORDER BY o.id
            """)
        return try rows.all((String, Int64, String, String, String, Int64, Int64, Int64, Int64, Bool, String, Int64, Int64?).self).map {
            row in
            OutcomeRecord(
                partner: row.0,
                line: OutcomeLine(
                    release: row.1, kind: RecommendationKind(rawValue: row.2) ?? .cross, item: row.3, suggested: row.4, invited: row.5,
                    accepted: row.6, periodStart: row.7, periodEnd: row.8),
                inBaseline: row.9, mode: SuggestionMode(rawValue: row.10) ?? .exploit, recordedAt: row.11, replacedAt: row.12)
        }
    }
}
