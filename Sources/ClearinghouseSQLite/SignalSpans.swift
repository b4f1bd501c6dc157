import GRDB
import GRDBSQLite

/// Where each partner's signals lie in the `signal` table, which has no index beside its rowid
/// (schema v11): the table is an append-only log, so that storing a batch costs what appending
/// rows costs.
///
/// Every transaction that stores signals records the rowids it wrote as a span of its partner
/// (``record(_:partner:first:last:)``). The rows one transaction inserts are contiguous: SQLite
/// gives a new row the largest rowid plus one, and its single writer lets no other transaction
/// insert in between. So every signal of a partner lies in one of that partner's spans, and
/// "the signals of partner P" are read from P's spans instead of from the whole table. A span
/// may also cover other partners' rows (a rowid freed at the end of the table is given again),
/// so every read through a span checks `partner_id` as well.
enum SignalSpans {
    /// Records that `partner` stored rowids `first...last` in the current transaction. A span
    /// that continues the partner's latest one extends it, so a partner that uploads batch after
    /// batch while nobody else does keeps one span.
    static func record(_ db: Database, partner: Int64, first: Int64, last: Int64) throws {
        precondition(first <= last, "an empty span")
        if let latest = try Row.fetchOne(
            db, sql: "SELECT first_id, last_id FROM signal_span WHERE partner_id = ? ORDER BY first_id DESC LIMIT 1",
            arguments: [partner]),
            (latest[1] as Int64) + 1 == first
        {
            try db.execute(
                sql: "UPDATE signal_span SET last_id = ? WHERE partner_id = ? AND first_id = ?",
                arguments: [last, partner, latest[0] as Int64])
            return
        }
        // A reused rowid can start a span where one of the partner's began before.
        try db.execute(
            sql: """
                INSERT INTO signal_span (partner_id, first_id, last_id) VALUES (?, ?, ?)
                ON CONFLICT (partner_id, first_id) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)
                """,
            arguments: [partner, first, last])
    }

    /// The partner's spans, by ascending first rowid.
    static func of(_ db: Database, partner: Int64) throws -> [ClosedRange<Int64>] {
        try Row.fetchAll(
            db, sql: "SELECT first_id, last_id FROM signal_span WHERE partner_id = ? ORDER BY first_id", arguments: [partner]
        ).map { ($0[0] as Int64)...($0[1] as Int64) }
    }

    /// Calls `body` with the rowid, person and batch of every signal of `partner`, span by span.
    /// Rows are read a slice of ``sliceRowIDs`` rowids at a time, and each slice before `body`
    /// sees it, so `body` may delete them and memory stays flat whatever a span's length.
    static func forEachSignal(
        _ db: Database, partner: Int64, _ body: (_ id: Int64, _ person: Int64, _ batch: Int64) throws -> Void
    ) throws {
        let select = try RawStatement(
            db, sql: "SELECT id, person_id, batch_id FROM signal WHERE id BETWEEN ?1 AND ?2 AND partner_id = ?3")
        var rows: [(id: Int64, person: Int64, batch: Int64)] = []
        for span in try of(db, partner: partner) {
            var low = span.lowerBound
            while low <= span.upperBound {
                let high = min(span.upperBound, low + sliceRowIDs - 1)
                select.reset()
                select.bind(1, low)
                select.bind(2, high)
                select.bind(3, partner)
                rows.removeAll(keepingCapacity: true)
                try select.forEachRow { rows.append(($0.int64(0), $0.int64(1), $0.int64(2))) }
                for row in rows { try body(row.id, row.person, row.batch) }
                low = high + 1
            }
        }
    }

    /// Rowids read at once by ``forEachSignal(_:partner:_:)``: at most this many rows held.
    static let sliceRowIDs: Int64 = 1 << 16

    /// The number of stored signals of one partner's consent of one person.
    static func count(_ db: Database, partner: Int64, person: Int64) throws -> Int {
        let count = try RawStatement(
            db, sql: "SELECT COUNT(*) FROM signal WHERE id BETWEEN ?1 AND ?2 AND partner_id = ?3 AND person_id = ?4")
        var total = 0
        for span in try of(db, partner: partner) {
            count.reset()
            count.bind(1, span.lowerBound)
            count.bind(2, span.upperBound)
            count.bind(3, partner)
            count.bind(4, person)
            total += Int(try count.firstInt64() ?? 0)
        }
        return total
    }

    /// Drops the spans that no longer hold any row (after a purge by age or erasures), so that
    /// erasure does not visit them; returns how many were dropped.
    static func prune(_ db: Database) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM signal_span
                WHERE NOT EXISTS (SELECT 1 FROM signal WHERE id BETWEEN signal_span.first_id AND signal_span.last_id)
                """)
        return db.changesCount
    }
}
