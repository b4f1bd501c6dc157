import ClearinghouseCore
import Foundation
import GRDB
import Logging

/// The ``ClearinghouseStore`` on an embedded SQLite database, through GRDB.
///
/// On disk it is a `DatabasePool` in WAL mode: one writer, concurrent readers, and admin CLI
/// processes that open the same file while the daemon runs. Durability: `synchronous = FULL`,
/// set after GRDB opens the pool (GRDB sets NORMAL while enabling WAL, see STACK-NOTES) and
/// read back by a test, so a write that returned survives power loss and `kill -9`.
/// `secure_delete` is on so that erased rows are overwritten, not merely unlinked.
public struct SQLiteStore: ClearinghouseStore {
    let writer: any DatabaseWriter
    let logger: Logger
    /// Names revoked persons in revocation records; set by the daemon, which holds the pepper.
    var pseudonymizer: AuditPseudonymizer?

    /// This store, recording revocations under pseudonyms from `pseudonymizer`.
    public func pseudonymizing(with pseudonymizer: AuditPseudonymizer) -> SQLiteStore {
        var store = self
        store.pseudonymizer = pseudonymizer
        return store
    }

    /// Opens (creating and migrating if needed) the database file at `path`.
    public static func open(path: String, logger: Logger) throws -> SQLiteStore {
        let pool = try DatabasePool(path: path, configuration: configuration())
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let store = SQLiteStore(writer: pool, logger: logger)
        try Schema.migrator.migrate(pool)
        return store
    }

    /// An in-memory database for tests (each test its own, so tests run in parallel).
    public static func inMemory(logger: Logger = Logger(label: "clearinghouse.sqlite.test")) throws -> SQLiteStore {
        let queue = try DatabaseQueue(configuration: configuration())
        try Schema.migrator.migrate(queue)
        return SQLiteStore(writer: queue, logger: logger)
    }

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // The daemon and admin commands may write at the same moment; wait rather than fail.
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // 64 MiB of page cache keeps the person-key index hot during ingest.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        return configuration
    }

    /// The value of a PRAGMA on the writer connection (for tests and diagnostics).
    public func writerPragma(_ name: String) throws -> String? {
        try writer.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    /// Runs a checkpoint that moves the WAL into the database file and truncates the WAL.
    public func checkpoint() throws {
        try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    public func checkReady() async throws {
        let migrated = try await writer.read { db in try Schema.migrator.hasCompletedMigrations(db) }
        guard migrated else { throw StoreError.notMigrated }
    }

    public func bindPepper(fingerprint: String) async throws {
        try await writer.write { db in
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'pepper_fingerprint'") {
                guard stored == fingerprint else { throw StoreError.pepperMismatch }
            } else {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('pepper_fingerprint', ?)", arguments: [fingerprint])
            }
        }
    }
}
