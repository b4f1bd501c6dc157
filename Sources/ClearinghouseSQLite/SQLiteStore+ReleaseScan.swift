import ClearinghouseCore
import GRDB
import GRDBSQLite
import Metrics

extension SQLiteStore {
    public func readReleaseSignals<Sink: PersonSignalSink & Sendable>(
        at now: Int64, parts: Int, concurrency: Int, makeSink: @escaping @Sendable (ReleaseCatalog) -> Sink
    ) async throws -> (catalog: ReleaseCatalog, sinks: [Sink]) {
        // Several readers see one snapshot only if nothing committed between their starts;
        // each reader checks the ledger's high-water mark, and a mismatch means read again.
        // (GRDB's DatabaseSnapshotPool would share one snapshot among readers, but it needs
        // SQLite built with SQLITE_ENABLE_SNAPSHOT, which Debian's libsqlite3 is not.)
        if parts > 1 {
            for attempt in 1...Self.parallelReadAttempts {
                let plan = try await writer.read { db in try ReleaseScanPlan(db, now: now, parts: parts) }
                // One sink per reader, not per range: a reader that finishes a range takes the
                // next with the same sink, so memory grows with readers, not with ranges.
                let readers = max(1, min(concurrency, plan.ranges.count))
                let sinks = (0..<readers).map { _ in makeSink(plan.catalog) }
                let marks = try await withThrowingTaskGroup(of: (mark: Int64, reader: Int).self) { group in
                    var pending = Array(plan.ranges.reversed())
                    var marks: [Int64] = []
                    func startNext(_ reader: Int) {
                        guard let range = pending.popLast() else { return }
                        let sink = sinks[reader]
                        group.addTask {
                            try await writer.read { db in
                                let mark = try ReleaseScanPlan.ledgerMark(db)
                                if mark == plan.ledgerMark { try plan.scan(db, persons: range, into: sink) }
                                return (mark, reader)
                            }
                        }
                    }
                    for reader in 0..<readers { startNext(reader) }
                    while let done = try await group.next() {
                        marks.append(done.mark)
                        startNext(done.reader)
                    }
                    return marks
                }
                if marks.allSatisfy({ $0 == plan.ledgerMark }) { return (plan.catalog, sinks) }
                Counter(label: "clearinghouse_release_scan_restarts_total").increment()
                logger.notice(
                    "a batch committed while a release was reading in parallel; reading again",
                    metadata: ["release.scan_attempt": "\(attempt)", "release.scan_parts": "\(parts)"])
            }
            // Never silent: one reader is a consistent snapshot but uses one core.
            Counter(label: "clearinghouse_release_scan_single_reader_total").increment()
            logger.warning(
                "batches kept committing while the release read in parallel; it reads with one reader instead",
                metadata: ["release.scan_attempts": "\(Self.parallelReadAttempts)", "release.scan_parts": "\(parts)"])
        }
        return try await writer.read { db in
            let plan = try ReleaseScanPlan(db, now: now, parts: 1)
            let sink = makeSink(plan.catalog)
            try plan.scan(db, persons: plan.ranges[0], into: sink)
            return (plan.catalog, [sink])
        }
    }

    /// Parallel reads tried before a release reads with one reader.
    static let parallelReadAttempts = 2
}

/// What a release scan needs before reading signals: the catalog, how categories map to items
/// and partners, the consents that have expired, and the person ranges to read.
struct ReleaseScanPlan: Sendable {
    let view: ReleaseView
    let ranges: [Range<Int64>]
    var catalog: ReleaseCatalog { view.catalog }
    var ledgerMark: Int64 { view.mark }

    /// The latest audit ledger entry: every change to consents and signals (batches, purges)
    /// writes one in its own transaction, so two readers with the same mark see the same data.
    static func ledgerMark(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM ledger") ?? 0
    }

    init(_ db: Database, now: Int64, parts: Int) throws {
        view = try Self.view(db, now: now)
        // Two subqueries: SQLite answers a lone MIN or MAX from the index, both at once by a scan.
        let bounds = try Row.fetchOne(
            db, sql: "SELECT COALESCE((SELECT MIN(person_id) FROM signal), 0), COALESCE((SELECT MAX(person_id) FROM signal), -1)")
        let low: Int64 = bounds?[0] ?? 0
        let high: Int64 = (bounds?[1] ?? -1) + 1
        self.ranges = CategoryMap.personRanges(low: low, high: high, parts: parts)
    }

    /// The catalog, category maps, expired consents and ledger mark, in the caller's read (one
    /// snapshot): what both the scan and the columnar copy count with.
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

    /// Streams the persons of `persons` from the covering index, one person at a time.
    func scan(_ db: Database, persons: Range<Int64>, into sink: some PersonSignalSink) throws {
        try db.execute(sql: "PRAGMA mmap_size = 17179869184")
        defer { try? db.execute(sql: "PRAGMA mmap_size = 0") }
        let statement = try db.makeStatement(
            sql: """
                SELECT person_id, category_id, weight FROM signal INDEXED BY signal_by_person_for_release
                WHERE person_id >= ? AND person_id < ? ORDER BY person_id
                """)
        let handle = statement.sqliteStatement
        sqlite3_bind_int64(handle, 1, persons.lowerBound)
        sqlite3_bind_int64(handle, 2, persons.upperBound)
        defer { sqlite3_reset(handle) }
        var feed = PersonFeed()
        defer { feed.deallocate() }
        var current: Int64 = -1
        while true {
            let code = sqlite3_step(handle)
            guard code == SQLITE_ROW else {
                if code == SQLITE_DONE { break }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            let person = sqlite3_column_int64(handle, 0)
            if person != current {
                feed.flush(into: sink)
                feed.clear()
                current = person
            }
            feed.push(view.item(category: Int(sqlite3_column_int64(handle, 1)), person: person), sqlite3_column_double(handle, 2))
        }
        feed.flush(into: sink)
    }
}
