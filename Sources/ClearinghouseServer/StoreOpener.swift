import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseSQLite
import Foundation
import Logging

/// What a command does to the database: writing needs the pepper (every write that ends a
/// consent records its history under the pepper-keyed audit pseudonym); reading does not.
public enum StoreAccess: Sendable {
    case write
    case read
}

/// A store opened on the configured backend, with the pepper-keyed deriver when one was loaded.
public struct OpenedStore: Sendable {
    public let store: any ClearinghouseStore
    /// Present for a writing store, and for a reading one when the pepper file could be read.
    public let deriver: PersonKeyDeriver?
    /// Whether the pepper file was created by this open (a new deployment).
    public let createdPepper: Bool
    /// Ends the store's connections (PostgreSQL); nothing for SQLite.
    public let close: @Sendable () -> Void
}

/// Opens the store the settings name, the one place that decides how the pepper and the
/// database come together, for the daemon and every admin command alike.
///
/// The pepper rule: a writing open loads the pepper file; when the file does not exist it is
/// created only if the database has no pepper bound yet (a new deployment); a database that
/// already has one refuses to go on without it (a new pepper would unlink every stored person
/// and write consent history nobody could look up). The pepper's fingerprint is then bound to
/// the database, which refuses any other pepper, naming the file.
public enum StoreOpener {
    public static func open(_ settings: ServerSettings, access: StoreAccess, logger: Logger) async throws -> OpenedStore {
        switch settings.storage.backend {
        case .sqlite: return try await openSQLite(settings, access: access, logger: logger)
        case .postgres(let location): return try await openPostgres(settings, location: location, access: access, logger: logger)
        }
    }

    static func openSQLite(_ settings: ServerSettings, access: StoreAccess, logger: Logger) async throws -> OpenedStore {
        let path = settings.databasePath
        switch access {
        case .write:
            // Read before migrating: an upgrade opens a file an older version wrote.
            let bound = FileManager.default.fileExists(atPath: path) ? try SQLiteStore.boundPepperFingerprint(path: path) : nil
            let pepper = try writingPepper(settings, databaseHasPepper: bound != nil, logger: logger)
            let store = try SQLiteStore.open(path: path, pseudonymizer: pepper.deriver.auditPseudonymizer, logger: logger)
            try await bind(store, deriver: pepper.deriver, pepperPath: settings.pepperPath)
            return OpenedStore(store: store, deriver: pepper.deriver, createdPepper: pepper.created, close: {})
        case .read:
            guard FileManager.default.fileExists(atPath: path) else { throw StoreOpenError.noDatabase(path: path) }
            let deriver = readingDeriver(settings)
            let store = try SQLiteStore.openReadOnly(path: path, pseudonymizer: deriver?.auditPseudonymizer, logger: logger)
            return OpenedStore(store: store, deriver: deriver, createdPepper: false, close: {})
        }
    }

    static func openPostgres(
        _ settings: ServerSettings, location: PostgresLocation, access: StoreAccess, logger: Logger
    ) async throws -> OpenedStore {
        let password = try settings.storage.password()
        let plain = try await PostgresStore.open(
            location, password: password, caFile: settings.storage.caFile, pseudonymizer: nil, migrating: access == .write,
            logger: logger)
        do {
            switch access {
            case .write:
                let bound = try await plain.pepperFingerprint()
                let pepper = try writingPepper(settings, databaseHasPepper: bound != nil, logger: logger)
                let store = plain.pseudonymizing(with: pepper.deriver.auditPseudonymizer)
                try await bind(store, deriver: pepper.deriver, pepperPath: settings.pepperPath)
                return OpenedStore(store: store, deriver: pepper.deriver, createdPepper: pepper.created, close: { plain.close() })
            case .read:
                let deriver = readingDeriver(settings)
                let store = deriver.map { plain.pseudonymizing(with: $0.auditPseudonymizer) } ?? plain
                return OpenedStore(store: store, deriver: deriver, createdPepper: false, close: { plain.close() })
            }
        } catch {
            plain.close()
            throw error
        }
    }

    /// Without the pepper an operator can still read counts, the ledger and releases.
    static func readingDeriver(_ settings: ServerSettings) -> PersonKeyDeriver? {
        (try? PepperFile.load(at: settings.pepperPath)).map { PersonKeyDeriver(pepper: $0) }
    }

    static func bind(_ store: some ClearinghouseStore, deriver: PersonKeyDeriver, pepperPath: String) async throws {
        do {
            try await store.bindPepper(fingerprint: deriver.fingerprint)
        } catch StoreError.pepperMismatch {
            throw StoreOpenError.pepperMismatch(path: pepperPath)
        }
    }

    /// Loads the pepper, or creates it for a database that has none bound yet.
    static func writingPepper(
        _ settings: ServerSettings, databaseHasPepper: Bool, logger: Logger
    ) throws -> (deriver: PersonKeyDeriver, created: Bool) {
        if FileManager.default.fileExists(atPath: settings.pepperPath) {
            return (PersonKeyDeriver(pepper: try PepperFile.load(at: settings.pepperPath)), false)
        }
        if databaseHasPepper { throw StoreOpenError.pepperMissing(path: settings.pepperPath) }
        let pepper = try PepperFile.loadOrCreate(at: settings.pepperPath)
        if pepper.created {
            logger.notice("created a new pepper key file; back it up with the database", metadata: ["file": "\(settings.pepperPath)"])
        }
        return (PersonKeyDeriver(pepper: pepper.key), pepper.created)
    }
}

/// Why a store could not be opened, with what to do.
public enum StoreOpenError: Error, CustomStringConvertible, Equatable {
    case pepperMissing(path: String)
    case pepperMismatch(path: String)
    case noDatabase(path: String)

    public var description: String {
        switch self {
        case .pepperMissing(let path):
            return "the pepper file \(path) is missing, and this database was created with one; restore it from backup "
                + "(or run this command on the daemon's host with its data directory): without it no write is possible"
        case .pepperMismatch(let path):
            return "the pepper file \(path) does not belong to this database (its fingerprint differs); "
                + "restore the original pepper.key (every daemon of a deployment holds the same file)"
        case .noDatabase(let path):
            return "no database at \(path); start the daemon once (scripts/serve), or pass --data-dir of an existing deployment"
        }
    }
}
