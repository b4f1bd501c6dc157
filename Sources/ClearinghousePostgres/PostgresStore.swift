import ClearinghouseCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import PostgresNIO

/// The ``ClearinghouseStore`` on PostgreSQL, through postgres-nio's `PostgresClient`.
///
/// Several daemons may share one database, so nothing here leans on a single writer. The
/// isolation each mutating call takes (see ``ClearinghouseStore``) is:
/// - every write runs in one READ COMMITTED transaction, retried whole on a serialization
///   failure or deadlock (SQLSTATE 40001, 40P01);
/// - the ledger is appended last in each transaction, under the transaction-scoped advisory
///   lock ``ledgerLock``: sequence numbers are taken and committed one transaction at a time,
///   so the ledger stays gapless and chained; the lock is taken after every row lock of the
///   transaction, so it never waits while holding one;
/// - a batch under an Idempotency-Key first takes an advisory lock on (partner, key), so the
///   same key sent to two daemons at once is stored once and replayed by the other;
/// - each partner has an erasure lock (transaction-scoped advisory lock): signal batches take
///   it shared before they read consents, revocations, purges and consents that drop affinity
///   take it exclusive before they erase, so no signal is stored under a consent erased at the
///   same moment (one lock a batch, not a row lock on every consent it relies on); consent
///   batches lock the consents they change `FOR UPDATE` and the persons they hold `FOR KEY
///   SHARE`, revocations the persons `FOR UPDATE`, so no person key is erased while a consent
///   is being written for it;
/// - a release is stored under the ledger lock taken before the budget is read, so two
///   releases started at once with room for one store exactly one;
/// - a release reads from one REPEATABLE READ, READ ONLY transaction: one snapshot.
public struct PostgresStore: ClearinghouseStore {
    let client: PostgresClient
    let logger: Logger
    /// As on SQLite: a writing store has one; see ``open(_:password:caFile:pseudonymizer:logger:)``.
    let pseudonymizer: AuditPseudonymizer?
    /// Keeps the client running while the store is in use (see ``PostgresClientRunner``).
    public let runner: PostgresClientRunner

    /// Advisory lock key of ledger appends ("clearinghouse ledger").
    static let ledgerLock: Int64 = 0x6368_6C65_6467_6572

    /// Connects, checks the server answers within `connectTimeout`, and migrates when
    /// `migrating` (a writing open). Stops with a message naming the setting on every failure.
    public static func open(
        _ location: PostgresLocation, password: String?, caFile: String?, pseudonymizer: AuditPseudonymizer?,
        migrating: Bool, maximumConnections: Int = 16, logger: Logger
    ) async throws -> PostgresStore {
        let tlsConfiguration = try tlsConfiguration(location, caFile: caFile)
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: tlsConfiguration.map { .require($0) } ?? .disable)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // Started before the probe, so the client runs by the time the store first leases.
        let runner = PostgresClientRunner(client: client)
        let store = PostgresStore(client: client, logger: logger, pseudonymizer: pseudonymizer, runner: runner)
        // One direct connection first: the pool retries a failing connection for ever, while
        // a single attempt fails at once with the reason (refused, wrong password, TLS).
        do {
            try await probe(location, password: password, tls: tlsConfiguration, logger: logger)
        } catch {
            runner.stop()
            throw PostgresStoreError.describe(error, location: location)
        }
        do {
            try await store.ping()
            if migrating { try await PostgresSchema.migrate(client, logger: logger) }
            guard try await client.withConnection({ try await PostgresSchema.isCurrent($0, logger: logger) }) else {
                throw StoreError.notMigrated
            }
        } catch {
            runner.stop()
            throw PostgresStoreError.describe(error, location: location)
        }
        return store
    }

    /// The client TLS for `sslmode`; `nil` for `disable`.
    static func tlsConfiguration(_ location: PostgresLocation, caFile: String?) throws -> TLSConfiguration? {
        switch location.sslMode {
        case .disable: return nil
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            guard let caFile, !caFile.isEmpty else { throw PostgresStoreError.missingCAFile(path: nil) }
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw PostgresStoreError.missingCAFile(path: caFile) }
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(caFile)
            configuration.certificateVerification = .fullVerification
            return configuration
        }
    }

    /// Opens and closes one connection, so that the first failure is reported, not retried.
    static func probe(_ location: PostgresLocation, password: String?, tls: TLSConfiguration?, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }

    /// This store, recording consent history under pseudonyms from `pseudonymizer` (writing).
    public func pseudonymizing(with pseudonymizer: AuditPseudonymizer) -> PostgresStore {
        PostgresStore(client: client, logger: logger, pseudonymizer: pseudonymizer, runner: runner)
    }

    /// Ends the client's connections; the store is unusable after.
    public func close() { runner.stop() }

    func ping() async throws {
        _ = try await fetch("SELECT 1")
    }

    func writingPseudonymizer() throws -> AuditPseudonymizer {
        guard let pseudonymizer else { throw StoreError.readOnly }
        return pseudonymizer
    }

    public func checkReady() async throws {
        guard try await leasing({ connection in try await PostgresSchema.isCurrent(connection, logger: logger) }) else {
            throw StoreError.notMigrated
        }
    }

    /// One statement on a pooled connection, its rows collected. Every read outside a
    /// transaction goes through here, so each waits at most ``leaseTimeout`` for a connection.
    func fetch(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await leasing { connection in try await connection.query(query, logger: logger).collect() }
    }

    /// How long a call waits for a connection before it fails: while the server is down the
    /// pool keeps retrying, and a request should answer 503 rather than hang. 10 s, not less:
    /// with 5 s, one test run on a heavily loaded 2-core machine failed a write that would have
    /// succeeded, most likely a pool opening a dozen TLS connections at once (SCRAM
    /// authentication is deliberately costly).
    static let leaseTimeout: Duration = .seconds(10)

    /// Runs `body` on a pooled connection, failing with ``PostgresStoreError/unavailable`` when
    /// none is had within ``leaseTimeout`` (once leased, `body` runs as long as it needs).
    func leasing<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let leased = NIOLockedValueBox(false)
        let client = self.client
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    leased.withLockedValue { $0 = true }
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: Self.leaseTimeout)
                if !leased.withLockedValue({ $0 }) { throw PostgresStoreError.unavailable }
                return nil
            }
            while let next = try await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
            }
            throw PostgresStoreError.unavailable
        }
    }

    public func pepperFingerprint() async throws -> String? {
        try await fetch("SELECT value FROM meta WHERE key = 'pepper_fingerprint'").all(String.self).first
    }

    public func bindPepper(fingerprint: String) async throws {
        try await write { connection in
            // Two daemons starting at once on a new database both insert; one wins, and the
            // other then compares against it.
            try await connection.query(
                "INSERT INTO meta (key, value) VALUES ('pepper_fingerprint', \(fingerprint)) ON CONFLICT (key) DO NOTHING",
                logger: logger)
            let stored = try await connection.query(
                "SELECT value FROM meta WHERE key = 'pepper_fingerprint'", logger: logger
            ).single(String.self)
            guard stored == fingerprint else { throw StoreError.pepperMismatch }
        }
    }

    /// Runs `body` in one READ COMMITTED transaction on one connection, retried whole on a
    /// serialization failure or deadlock; errors thrown by `body` come out as they are.
    func write<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction("BEGIN ISOLATION LEVEL READ COMMITTED", body)
    }

    /// Runs `body` in one REPEATABLE READ, READ ONLY transaction: one snapshot of the database.
    func readSnapshot<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<Result: Sendable>(
        _ begin: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await leasing { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: begin), logger: logger)
                    do {
                        let result = try await body(connection)
                        try await connection.query("COMMIT", logger: logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 8 && Self.isRetryable(error) {
                logger.debug("transaction retried", metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
            }
        }
    }

    /// Serialization failure, deadlock, and a person key erased between lookup and use.
    static func isRetryable(_ error: PSQLError) -> Bool {
        ["40001", "40P01", "23503"].contains(error.serverInfo?[.sqlState] ?? "")
    }
}

extension PostgresRowSequence {
    /// The one value of a one-row, one-column answer.
    func single<T: PostgresDecodable>(_ type: T.Type) async throws -> T {
        for try await value in decode(T.self) { return value }
        throw StoreError.notMigrated
    }

    /// The one row of a one-row answer (aggregates).
    func row<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) async throws -> (repeat each Column) {
        for try await row in decode((repeat each Column).self) { return row }
        throw StoreError.notMigrated
    }

    /// Every value of a one-column answer.
    func all<T: PostgresDecodable>(_ type: T.Type) async throws -> [T] {
        var values: [T] = []
        for try await value in decode(T.self) { values.append(value) }
        return values
    }
}

extension Array where Element == PostgresRow {
    /// The one value of a one-row, one-column answer.
    func single<T: PostgresDecodable>(_ type: T.Type) throws -> T {
        guard let row = first else { throw StoreError.notMigrated }
        return try row.decode(T.self)
    }

    /// Every row decoded as `type` (a column or a tuple of columns).
    func all<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try map { try $0.decode((repeat each Column).self) }
    }
}

/// Runs a `PostgresClient` for as long as its store is used: the client serves queries only
/// while its `run()` is active, and a store is used before and outside any service group (the
/// daemon binds the pepper before it starts serving; admin commands have no service group).
/// ``PostgresClientService`` ties it to the daemon's graceful shutdown.
public final class PostgresClientRunner: Sendable {
    private let task: Task<Void, Never>

    init(client: PostgresClient) {
        task = Task { await client.run() }
    }

    /// Cancels `run()`, which closes every connection.
    public func stop() { task.cancel() }
}

/// Why the PostgreSQL store cannot be used, naming the setting and what to do.
public enum PostgresStoreError: Error, CustomStringConvertible, Equatable {
    case unreachable(location: String, reason: String)
    case authenticationFailed(location: String)
    case missingCAFile(path: String?)
    case newerSchema(migration: String)
    case untrustedServer(location: String, host: String)
    case server(location: String, message: String)
    /// No connection to the server could be had in time (it is down or unreachable).
    case unavailable
    /// `storage copy` found data in the target database.
    case targetNotEmpty

    public var description: String {
        switch self {
        case .unreachable(let location, let reason):
            return "cannot reach the PostgreSQL server of setting 'storage.url' (\(location)): \(reason); check the host and port, and that the server runs"
        case .authenticationFailed(let location):
            return "PostgreSQL refused the password for \(location); set the right one in CLEARINGHOUSE_STORAGE_PASSWORD or the file of 'storage.password_file'"
        case .missingCAFile(let path):
            if let path { return "setting 'storage.ca_file': cannot read \(path); sslmode=verify-full needs the CA that signed the server's certificate" }
            return "sslmode=verify-full needs setting 'storage.ca_file' (the CA that signed the server's certificate), or use sslmode=require"
        case .untrustedServer(let location, let host):
            return "the PostgreSQL server of \(location) presented a certificate that the CA of setting 'storage.ca_file' did not sign, or that does not name \(host); give the CA that signed it, or name the host its certificate names"
        case .newerSchema(let migration):
            return "the PostgreSQL database was migrated by a newer clearinghouse (migration '\(migration)'); run that version, or restore a backup made for this one"
        case .server(let location, let message):
            return "PostgreSQL at \(location) answered: \(message)"
        case .targetNotEmpty:
            return "the target PostgreSQL database is not empty; storage copy only fills a new, empty database (create one with CREATE DATABASE)"
        case .unavailable:
            return "no connection to PostgreSQL could be had in time; the database is unreachable (the write stored nothing: retry later)"
        }
    }

    /// The user-facing form of a failure to open.
    static func describe(_ error: any Error, location: PostgresLocation) -> any Error {
        if error is PostgresStoreError || error is StoreError { return error }
        guard let error = error as? PSQLError else {
            return PostgresStoreError.unreachable(location: "\(location)", reason: "\(error)")
        }
        if let state = error.serverInfo?[.sqlState] {
            if state == "28P01" || state == "28000" { return PostgresStoreError.authenticationFailed(location: "\(location)") }
            return PostgresStoreError.server(location: "\(location)", message: error.serverInfo?[.message] ?? state)
        }
        switch error.code {
        case .authMechanismRequiresPassword, .saslError:
            return PostgresStoreError.authenticationFailed(location: "\(location)")
        case .sslUnsupported:
            return PostgresStoreError.unreachable(location: "\(location)", reason: "the server does not offer TLS (use sslmode=disable only on a private link)")
        default:
            let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
            if reason.contains("CERTIFICATE_VERIFY_FAILED") || reason.contains("unableToValidateCertificate") {
                return PostgresStoreError.untrustedServer(location: "\(location)", host: location.host)
            }
            return PostgresStoreError.unreachable(location: "\(location)", reason: reason)
        }
    }
}
