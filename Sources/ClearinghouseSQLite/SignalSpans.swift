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

    /// The rowid ranges holding the partner's signals, ascending and disjoint: the partner's
    /// spans with overlapping or adjacent ones merged (a rowid given again can start a span
    /// inside an earlier one of the same partner), so no row is read twice.
    static func of(_ db: Database, partner: Int64) throws -> [ClosedRange<Int64>] {
        var ranges: [ClosedRange<Int64>] = []
        for row in try Row.fetchAll(
            db, sql: "SELECT first_id, last_id FROM signal_span WHERE partner_id = ? ORDER BY first_id", arguments: [partner])
        {
            let span = (row[0] as Int64)...(row[1] as Int64)
            if let last = ranges.last, span.lowerBound <= last.upperBound + 1 {
                ranges[ranges.count - 1] = last.lowerBound...max(last.upperBound, span.upperBound)
            } else {
                ranges.append(span)
            }
        }
        return ranges
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

    /// Whether `ranges` (ascending and disjoint, as ``of(_:partner:)`` returns them) hold `id`.
    static func covers(_ ranges: [ClosedRange<Int64>], _ id: Int64) -> Bool {
        var low = 0, high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < id { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].contains(id)
    }

    /// Records spans for the signals after the last span (two lookups when there are none):
    /// what a version from before spans appends when it runs on this database, found the next
    /// time this version opens it for writing.
    static func recordTail(_ db: Database) throws -> Int {
        let lastCovered = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(last_id), 0) FROM signal_span") ?? 0
        let found = try Row.fetchAll(
            db, sql: "SELECT partner_id, MIN(id), MAX(id), COUNT(*) FROM signal WHERE id > ? GROUP BY partner_id", arguments: [lastCovered])
        for row in found { try record(db, partner: row[0], first: row[1], last: row[2]) }
        return found.reduce(0) { $0 + ($1[3] as Int) }
    }

    /// Records a span for the signals that none of their partner's spans covers, anywhere in
    /// the table (``uncovered(_:)``): one span per partner, from its first such signal to its
    /// last. Returns how many signals it covered.
    static func recordUncovered(_ db: Database) throws -> Int {
        let uncovered = try uncovered(db)
        for (partner, range) in uncovered { try record(db, partner: partner, first: range.first, last: range.last) }
        return uncovered.values.reduce(0) { $0 + $1.count }
    }

    /// Per partner, the signals that none of its spans covers (the first and last rowid, and
    /// how many), in one pass over the table. Erasure reads only the partner's spans, so such a
    /// signal (written by hand, or by a version from before spans) could not be erased until
    /// ``recordUncovered(_:)`` gives it one; the consent audit reports them.
    static func uncovered(_ db: Database) throws -> [Int64: (first: Int64, last: Int64, count: Int)] {
        var spans: [Int64: [ClosedRange<Int64>]] = [:]
        // A partner without spans has every signal uncovered: `spans[partner] ?? []` below.
        for partner in try Int64.fetchAll(db, sql: "SELECT DISTINCT partner_id FROM signal_span") {
            spans[partner] = try of(db, partner: partner)
        }
        var uncovered: [Int64: (first: Int64, last: Int64, count: Int)] = [:]
        try RawStatement(db, sql: "SELECT id, partner_id FROM signal").forEachRow { row in
            let (id, partner) = (row.int64(0), row.int64(1))
            guard !covers(spans[partner] ?? [], id) else { return }
            let known = uncovered[partner]
            uncovered[partner] = (min(known?.first ?? id, id), max(known?.last ?? id, id), (known?.count ?? 0) + 1)
        }
        return uncovered
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
