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
    /// Names persons in revocation records and the consent history. A store that writes always
    /// has one (``open(path:pseudonymizer:logger:)`` requires it), so no command can erase a
    /// consent without recording its history; a read-only store may lack it (audits then say
    /// that revocations cannot be checked).
    let pseudonymizer: AuditPseudonymizer?
    /// The columnar copy of the signals releases count (`release.engine = columnar`): shared by
    /// every copy of this store value, kept true by the commits of this process (see
    /// `LedgerAppender`), rebuilt when another process commits.
    let signalCopy = SignalCopy()
    /// Partners' consented persons by key, kept between their signal batches (see
    /// ``ConsentDirectories``); shared by every copy of this store value.
    let consentDirectories = ConsentDirectories()

    /// Opens for writing (creating and migrating if needed) the database file at `path`.
    public static func open(path: String, pseudonymizer: AuditPseudonymizer, logger: Logger) throws -> SQLiteStore {
        let pool = try DatabasePool(path: path, configuration: configuration())
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // A schema this version does not know (a newer version migrated the file): writing
        // through it could break what the newer schema relies on.
        guard try !pool.read({ try Schema.migrator.hasBeenSuperseded($0) }) else { throw StoreError.newerSchema }
        try Schema.migrator.migrate(pool)
        // Signals appended by a version from before spans, if one ran on this file since.
        let tail = try pool.write { db in try SignalSpans.recordTail(db) }
        if tail > 0 { logger.warning("signals written without spans were given spans", metadata: ["store.signals_covered": "\(tail)"]) }
        return SQLiteStore(writer: pool, logger: logger, pseudonymizer: pseudonymizer)
    }

    /// Opens an existing, migrated database file for reading only: SQLite itself refuses any
    /// write through it, so it needs no pepper (commands that only read run without it).
    public static func openReadOnly(path: String, pseudonymizer: AuditPseudonymizer?, logger: Logger) throws -> SQLiteStore {
        var configuration = configuration()
        configuration.readonly = true
        let pool = try DatabasePool(path: path, configuration: configuration)
        let store = SQLiteStore(writer: pool, logger: logger, pseudonymizer: pseudonymizer)
        guard try pool.read({ try Schema.migrator.hasCompletedMigrations($0) }) else { throw StoreError.notMigrated }
        return store
    }

    /// The pepper fingerprint recorded in the database file at `path`, read without opening it
    /// as a store: the file may come from an older version whose migrations have not run yet.
    public static func boundPepperFingerprint(path: String) throws -> String? {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            guard try db.tableExists("meta") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'pepper_fingerprint'")
        }
    }

    /// An in-memory database for tests (each test its own, so tests run in parallel).
    public static func inMemory(
        pseudonymizer: AuditPseudonymizer, logger: Logger = Logger(label: "clearinghouse.sqlite.test")
    ) throws -> SQLiteStore {
        let queue = try DatabaseQueue(configuration: configuration())
        try Schema.migrator.migrate(queue)
        return SQLiteStore(writer: queue, logger: logger, pseudonymizer: pseudonymizer)
    }

    /// The pseudonymizer of a store that writes consents; a read-only store has none to give.
    func writingPseudonymizer() throws -> AuditPseudonymizer {
        guard let pseudonymizer else { throw StoreError.readOnly }
        return pseudonymizer
    }

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // The daemon and admin commands may write at the same moment; wait rather than fail.
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // The writer's cache keeps the person-key index hot for consent batches; a reader's
            // is smaller, so that the pool's page caches stay within 32 + 4 x 8 MiB whatever
            // the size of the database (the readers look up signal batches' consents).
            try db.execute(sql: "PRAGMA cache_size = -\(db.configuration.readonly ? readerCacheKiB : writerCacheKiB)")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        return configuration
    }

    /// Page cache of the writer connection and of each reader connection, in KiB.
    static let writerCacheKiB = 32768
    static let readerCacheKiB = 8192

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

    public func pepperFingerprint() async throws -> String? {
        try await writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'pepper_fingerprint'") }
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
