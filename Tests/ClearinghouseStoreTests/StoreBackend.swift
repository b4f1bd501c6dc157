import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseSQLite
import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing

/// The backends the contract runs on: SQLite always, PostgreSQL when `scripts/test` started a
/// server (`CLEARINGHOUSE_TEST_POSTGRES_URL` and `..._PASSWORD`). Under CI both are required:
/// ``StoreBackendTests`` fails when PostgreSQL is missing there.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var available: [StoreBackend] {
        TestPostgres.server == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// A new, empty database of this backend; `open()` opens a store on it (as many as a test
    /// wants: several daemons on one database), `drop()` removes it.
    func makeDatabase() async throws -> TestDatabase {
        switch self {
        case .sqlite:
            let directory = NSTemporaryDirectory() + "store-contract-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return TestDatabase(backend: self, sqlitePath: directory + "/clearinghouse.sqlite", postgresName: nil)
        case .postgres:
            let name = "contract_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await TestPostgres.admin("CREATE DATABASE \(name)")
            return TestDatabase(backend: self, sqlitePath: nil, postgresName: name)
        }
    }
}

/// One test's database.
struct TestDatabase: Sendable {
    let backend: StoreBackend
    let sqlitePath: String?
    let postgresName: String?

    static let deriver = PersonKeyDeriver(pepper: SymmetricKey(data: [UInt8](repeating: 9, count: 32)))
    static let logger = Logger(label: "clearinghouse.contract")

    /// Opens a writing store on this database, with the test pepper bound.
    func open() async throws -> OpenStore {
        let pseudonymizer = Self.deriver.auditPseudonymizer
        switch backend {
        case .sqlite:
            let store = try SQLiteStore.open(path: sqlitePath!, pseudonymizer: pseudonymizer, logger: Self.logger)
            try await store.bindPepper(fingerprint: Self.deriver.fingerprint)
            return OpenStore(store: store, close: {})
        case .postgres:
            let server = TestPostgres.server!
            var location = server.location
            location.database = postgresName!
            let store = try await PostgresStore.open(
                location, password: server.password, caFile: nil, pseudonymizer: pseudonymizer, migrating: true,
                maximumConnections: 8, logger: Self.logger)
            try await store.bindPepper(fingerprint: Self.deriver.fingerprint)
            return OpenStore(store: store, close: { store.close() })
        }
    }

    func drop() async throws {
        switch backend {
        case .sqlite:
            try? FileManager.default.removeItem(atPath: (sqlitePath! as NSString).deletingLastPathComponent)
        case .postgres:
            try await TestPostgres.admin("DROP DATABASE IF EXISTS \(postgresName!) WITH (FORCE)")
        }
    }

    /// Runs `body` with one open store on a new database, then drops it.
    static func with(_ backend: StoreBackend, _ body: (any ClearinghouseStore, TestDatabase) async throws -> Void) async throws {
        let database = try await backend.makeDatabase()
        let opened = try await database.open()
        do {
            try await body(opened.store, database)
        } catch {
            opened.close()
            try await database.drop()
            throw error
        }
        opened.close()
        try await database.drop()
    }
}

struct OpenStore: Sendable {
    let store: any ClearinghouseStore
    let close: @Sendable () -> Void
}

/// The PostgreSQL server `scripts/test` started, if any.
enum TestPostgres {
    struct Server: Sendable {
        let location: PostgresLocation
        let password: String
    }

    static let server: Server? = {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["CLEARINGHOUSE_TEST_POSTGRES_URL"], !url.isEmpty,
            case .success(let location) = PostgresLocation.parse(url)
        else { return nil }
        return Server(location: location, password: environment["CLEARINGHOUSE_TEST_POSTGRES_PASSWORD"] ?? "")
    }()

    /// Runs one statement on the server's maintenance database (CREATE / DROP DATABASE).
    static func admin(_ sql: String) async throws {
        let server = try #require(server)
        try await PostgresMaintenance.execute(sql, on: server.location, password: server.password)
    }
}

@Suite("Store backends")
struct StoreBackendTests {
    @Test("CI runs the contract on PostgreSQL too, and PostgreSQL with TLS")
    func postgresIsThereUnderCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(TestPostgres.server != nil, "scripts/test must start PostgreSQL and set CLEARINGHOUSE_TEST_POSTGRES_URL")
            #expect(
                ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_POSTGRES_CA"] != nil,
                "scripts/test must start PostgreSQL with TLS and set CLEARINGHOUSE_TEST_POSTGRES_CA")
        }
    }
}
