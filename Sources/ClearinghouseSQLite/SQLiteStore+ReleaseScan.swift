import ClearinghouseCore
import GRDB

extension SQLiteStore {
    /// Streams every counted signal grouped by person, from one snapshot.
    ///
    /// The signal table has no person index (an append-only log, see ``SignalSpans``), so the
    /// signals are grouped in memory: one read transaction reads the view and every signal into
    /// the columns the daemon's copy uses (``ReleaseRead/columns(_:mark:)``), then `concurrency`
    /// threads feed disjoint person ranges to their sinks. One read is one snapshot, so no
    /// commit can come between readers: nothing to check, and no second attempt.
    public func readReleaseSignals<Sink: PersonSignalSink & Sendable>(
        at now: Int64, parts: Int, concurrency: Int, makeSink: @escaping @Sendable (ReleaseCatalog) -> Sink
    ) async throws -> (catalog: ReleaseCatalog, sinks: [Sink]) {
        let (view, columns) = try await writer.read { db in
            let view = try ReleaseRead.view(db, now: now)
            return (view, try ReleaseRead.columns(db, mark: view.mark))
        }
        guard let columns else { throw StoreError.beyondColumnLimits }
        let sinks = (0..<max(1, min(concurrency, parts))).map { _ in makeSink(view.catalog) }
        await columns.feed(view, parts: parts, into: sinks)
        return (view.catalog, sinks)
    }
}

/// What a release reads from SQLite, in the caller's read transaction (one snapshot).
enum ReleaseRead {
    /// The latest audit ledger entry: every change to consents and signals (batches, purges)
    /// writes one in its own transaction, so two reads with the same mark see the same data.
    static func ledgerMark(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM ledger") ?? 0
    }

    /// The catalog, category maps, expired consents and ledger mark: what both the scan and the
    /// columnar copy count with.
    static func view(_ db: Database, now: Int64) throws -> ReleaseView {
        let mark = try ledgerMark(db)
        let map = CategoryMap(
            partners: try Row.fetchAll(db, sql: "SELECT id, slug FROM partner ORDER BY id").map { (id: $0[0], slug: $0[1]) },
            categories: try Row.fetchAll(db, sql: "SELECT id, partner_id, name FROM category ORDER BY partner_id, id").map {
                (id: $0[0], partner: $0[1], name: $0[2])
            })
        // Signals exist only under consent (ingest gates them, revocation erases them, a
        // consent without affinity erases them); consent that has expired since is the one
        // case left to exclude.
        var expired = Set<UInt64>()
        for row in try Row.fetchAll(db, sql: "SELECT partner_id, person_id FROM consent WHERE expires_at <= ?", arguments: [now]) {
            expired.insert(UInt64(row[0] as Int64) << 32 | UInt64(row[1] as Int64))
        }
        return ReleaseView(map: map, expired: expired, mark: mark)
    }

    /// Every stored signal grouped by person (``ColumnarSignalsBuilder``), named by `mark`:
    /// two passes over the table in `db`'s one read, the first counting each person's signals,
    /// the second putting each in its place. `nil` when an id or a count exceeds the 32-bit
    /// columns. A small page cache for the read: a pass in table order gains nothing from a
    /// large one, and the daemon's memory stays the columns themselves.
    static func columns(_ db: Database, mark: Int64) throws -> ColumnarSignals? {
        let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -Int(SQLiteStore.readerCacheKiB)
        try db.execute(sql: "PRAGMA cache_size = -2048")
        defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
        var builder = ColumnarSignalsBuilder(largestPerson: try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM person") ?? 0)
        do {
            try RawStatement(db, sql: "SELECT person_id FROM signal").forEachRow { row in
                guard builder.count(person: row.int64(0)) else { throw BeyondColumns() }
            }
            builder.layout()
            try RawStatement(db, sql: "SELECT person_id, category_id, weight FROM signal").forEachRow { row in
                guard builder.place(person: row.int64(0), category: row.int64(1), weight: row.double(2)) else { throw BeyondColumns() }
            }
        } catch is BeyondColumns {
            return nil
        }
        var partnerOfCategory: [Int64] = []
        for row in try Row.fetchAll(db, sql: "SELECT id, partner_id FROM category ORDER BY id") {
            let id = Int(row[0] as Int64)
            guard id >= 0, id <= Int(Int32.max) else { return nil }
            if id >= partnerOfCategory.count { partnerOfCategory += repeatElement(-1, count: id + 1 - partnerOfCategory.count) }
            partnerOfCategory[id] = row[1]
        }
        return builder.finish(mark: mark, partnerOfCategory: partnerOfCategory)
    }

    /// Stops a pass at the first row the columns cannot hold.
    private struct BeyondColumns: Error {}
}
