import ClearinghouseCore
import Foundation
import GRDB
import GRDBSQLite
import Metrics

extension SQLiteStore {
    /// Counts the release from the columnar copy (see ``SignalCopy``), building it from one
    /// read transaction when this process has none or another process has committed since.
    public func columnarCounts(at now: Int64, bounds: ContributionBounds, threads: Int) async throws -> ExactCounts? {
        let writer = self.writer
        let counted = try await signalCopy.exactCounts(
            readView: { try await writer.read { db in try ReleaseScanPlan.view(db, now: now) } },
            build: { try await buildColumnarCopy() },
            bounds: bounds, threads: threads)
        if counted == nil {
            logger.warning("the columnar copy could not be matched with the database; this release scans it instead")
        }
        return counted
    }

    public func prepareColumnarCopy() async throws {
        _ = try await signalCopy.warm(build: { try await buildColumnarCopy() })
    }

    /// Reads every stored signal in release-index order, in one read transaction: the copy is
    /// the state of that transaction's snapshot, named by its ledger mark.
    func buildColumnarCopy() async throws -> ColumnarSignals? {
        let clock = ContinuousClock()
        let started = clock.now
        let built = try await writer.read { db -> ColumnarSignals? in
            // One pass in index order gains nothing from a page cache: a small one for this
            // read keeps the daemon's memory to the copy itself (64 MiB otherwise).
            try db.execute(sql: "PRAGMA cache_size = -2048")
            defer { try? db.execute(sql: "PRAGMA cache_size = -65536") }
            let mark = try ReleaseScanPlan.ledgerMark(db)
            // The columns are 32-bit: ids beyond that are known before reading every row (each
            // from an index), and such a database is scanned instead.
            let largest = try Row.fetchOne(
                db, sql: "SELECT COALESCE((SELECT MAX(person_id) FROM signal), 0), COALESCE((SELECT MAX(id) FROM category), 0)")
            guard let largest, (largest[0] as Int64) <= Int64(Int32.max), (largest[1] as Int64) <= Int64(Int32.max) else { return nil }
            let signals = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM signal") ?? 0
            guard signals < Int(Int32.max) else { return nil }
            let persons = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") ?? 0
            var builder = ColumnarSignalsBuilder(expectedSignals: signals, expectedPersons: persons)
            let statement = try db.makeStatement(
                sql: """
                    SELECT person_id, partner_id, category_id, weight FROM signal INDEXED BY signal_by_person_for_release
                    ORDER BY person_id, partner_id, category_id, weight
                    """)
            let handle = statement.sqliteStatement
            defer { sqlite3_reset(handle) }
            while true {
                let code = sqlite3_step(handle)
                guard code == SQLITE_ROW else {
                    if code == SQLITE_DONE { break }
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                guard
                    builder.append(
                        person: sqlite3_column_int64(handle, 0), partner: sqlite3_column_int64(handle, 1),
                        category: sqlite3_column_int64(handle, 2), weight: sqlite3_column_double(handle, 3))
                else { return nil }
            }
            return builder.finish(mark: mark)
        }
        let elapsed = clock.now - started
        if let built {
            Gauge(label: "clearinghouse_release_copy_bytes").record(built.bytes)
            Counter(label: "clearinghouse_release_copy_builds_total").increment()
            logger.notice(
                "columnar copy of the signals built",
                metadata: [
                    "copy.signals": "\(built.liveSignals)", "copy.mib": "\(built.bytes >> 20)", "copy.ledger_mark": "\(built.mark)",
                    "copy.seconds": "\(elapsed.components.seconds).\(String(format: "%03d", elapsed.components.attoseconds / 1_000_000_000_000_000))",
                ])
        }
        return built
    }
}
