import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseSQLite
import ClearinghouseServer
import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
import Testing

/// A live daemon for one test: its own data directory, partners with keys, captured logs.
struct TestDaemon: Sendable {
    let directory: String
    let runtime: DaemonRuntime
    let logs: InMemoryLogHandler
    let keys: [String: String]

    var settings: ServerSettings { runtime.settings }

    /// Runs an admin command on this daemon's data directory and database.
    func admin(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        var options = ["--data-dir", directory]
        var environment: [String: String] = [:]
        if case .postgres(let location) = settings.storage.backend {
            options += ["--storage-url", "\(location)"]
            environment[StorageSettings.passwordVariable] = TestPostgresServer.password
        }
        let result = try await ChildProcess.run(DaemonProcess.binary, arguments + options, environment: environment)
        return (result.status, String(decoding: result.stdout, as: UTF8.self), String(decoding: result.stderr, as: UTF8.self))
    }

    /// Runs `body` against a daemon on a loopback port (HummingbirdTesting `.live`).
    /// Limits no test of other features runs into; `RateLimitTests` sets its own.
    static let unlimited = RateLimits(
        writes: .init(rate: 100_000, burst: 100_000), reads: .init(rate: 100_000, burst: 100_000),
        authenticationFailures: .init(rate: 100_000, burst: 100_000))

    static func run(
        limits: IngestLimits = IngestLimits(),
        partners: [String] = ["acme", "globex"],
        releaseEverySeconds: Int? = nil,
        tokenProfiles: PinnedProfiles = PinnedProfiles(),
        exportDirectory: String? = nil,
        rateLimits: RateLimits = TestDaemon.unlimited,
        tls: TLSSettings? = nil,
        requestTimeoutSeconds: Int = 900,
        storage: TestStorage = .sqlite,
        privacy: PrivacySettings = PrivacySettings(k: 10, differentialPrivacy: false),
        budget: PrivacyBudget = PrivacyBudget(),
        recommendation: RecommendationSettings = RecommendationSettings(),
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMilliseconds,
        _ body: @Sendable (any TestClientProtocol, TestDaemon) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await storage.makeDatabase(passwordFileIn: directory)

        var logs = InMemoryLogHandler()
        logs.logLevel = .trace
        let captured = logs
        var logger = Logger(label: "clearinghouse.test", factory: { _ in captured })
        logger.logLevel = .trace
        let settings = ServerSettings(
            host: "127.0.0.1", port: 0, dataDirectory: directory, limits: limits,
            privacy: privacy, budget: budget, releaseEverySeconds: releaseEverySeconds,
            tokenProfiles: tokenProfiles, recommendation: recommendation, exportDirectory: exportDirectory, rateLimits: rateLimits, tls: tls,
            requestTimeoutSeconds: requestTimeoutSeconds, storage: database?.settings ?? StorageSettings())
        let runtime = try await DaemonRuntime.open(settings, logger: logger, clock: clock)

        var keys: [String: String] = [:]
        for partner in partners {
            let key = APIKey.generate()
            try await runtime.store.addPartner(id: PartnerID(partner)!, name: partner.capitalized, key: key, at: WallClock.nowMilliseconds())
            keys[partner] = key.text
        }
        let daemon = TestDaemon(directory: directory, runtime: runtime, logs: logs, keys: keys)
        let app = try buildApplication(runtime, logger: logger)
        do {
            try await app.test(.live) { client in try await body(client, daemon) }
        } catch {
            runtime.closeStore()
            try? await database?.drop()
            throw error
        }
        runtime.closeStore()
        try await database?.drop()
    }

    /// Reads the database file directly, as an auditor would.
    func query<T: Sendable>(_ read: @Sendable (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: settings.databasePath)
        return try queue.read(read)
    }

    func count(_ sql: String) throws -> Int {
        try query { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    /// Everything the logs said, rendered as text (messages and metadata).
    var logText: String {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n")
    }
}

extension TestClientProtocol {
    /// POSTs a batch as `partner` (or with the given raw Authorization value).
    func upload(
        _ path: String, _ body: String, as key: String?, contentType: String? = "application/x-ndjson",
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await upload(path, Array(body.utf8), as: key, contentType: contentType, headers: extra)
    }

    func upload(
        _ path: String, _ body: [UInt8], as key: String?, contentType: String? = "application/x-ndjson",
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    /// `error.lines` of a rejected batch.
    var lineErrors: [[String: Any]] { ((json["error"] as? [String: Any])?["lines"] as? [[String: Any]]) ?? [] }

    func int(_ key: String) -> Int? { (json[key] as? NSNumber)?.intValue }
}

/// What partners send: tokens and lines built as docs/partners.md tells them to.
enum Lines {
    static let salt = SymmetricKey(data: Array("test-consortium-salt".utf8))

    static func token(_ identifier: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(identifier.utf8), using: salt))
    }

    static func consent(
        _ identifier: String, kid: String = "k1", granted: String = "2026-01-01T00:00:00Z", expires: String? = nil,
        proof: String? = "cmp-record-1"
    ) -> String {
        var line = #"{"token":"\#(token(identifier))","kid":"\#(kid)","purposes":["affinity"],"granted_at":"\#(granted)""#
        if let expires { line += #","expires_at":"\#(expires)""# }
        if let proof { line += #","proof":"\#(proof)""# }
        return line + "}"
    }

    static func signal(_ identifier: String, _ category: String, kid: String = "k1", weight: Double = 1) -> String {
        #"{"token":"\#(token(identifier))","kid":"\#(kid)","category":"\#(category)","weight":\#(weight),"observed_at":"2026-11-01T10:00:00Z"}"#
    }

    static func revocation(_ identifier: String, kid: String = "k1") -> String {
        #"{"token":"\#(token(identifier))","kid":"\#(kid)"}"#
    }

    static func body(_ lines: [String]) -> String {
        lines.joined(separator: "\n") + "\n"
    }
}

/// Runs a child process without blocking Swift concurrency's thread pool: output goes to
/// files and termination is awaited through a continuation. (Blocking pipe reads inside an
/// async test would park the pool's threads and starve the in-process daemon under test.)
enum ChildProcess {
    struct Result: Sendable {
        let status: Int32
        let stdout: Data
        let stderr: Data
    }

    /// Waits at most `limit` for the child, then kills it and fails naming the command.
    static func run(
        _ executable: String, _ arguments: [String], stdinFile: String? = nil, environment: [String: String] = [:],
        within limit: Duration = .seconds(300)
    ) async throws -> Result {
        let base = NSTemporaryDirectory() + "child-" + UUID().uuidString
        let outPath = base + ".out"
        let errPath = base + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let stdinFile { process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinFile)) }
        let exit = ProcessExit(process)
        try process.run()
        let status: Int32
        do {
            status = try await exit.wait(within: limit)
        } catch {
            process.terminate()
            throw Poll.TimedOut(awaited: "\(executable) \(arguments.prefix(3).joined(separator: " ")) to finish", limit: limit)
        }
        return Result(
            status: status, stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
            stderr: FileManager.default.contents(atPath: errPath) ?? Data())
    }
}

/// Compresses with the system's gzip(1), independent of the daemon's inflater.
func gzip(_ bytes: [UInt8]) async throws -> [UInt8] {
    let input = NSTemporaryDirectory() + "gzip-in-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: input) }
    try Data(bytes).write(to: URL(fileURLWithPath: input))
    return Array(try await ChildProcess.run("/bin/gzip", ["-c", "-n", input]).stdout)
}

/// A fixed pepper for stores that tests open directly (writing stores need one).
enum TestPepper {
    static let deriver = PersonKeyDeriver(pepper: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))
}

/// The database a test daemon runs on: the SQLite file in its data directory, or a new
/// PostgreSQL database on the server `scripts/test` started.
enum TestStorage: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when `CLEARINGHOUSE_TEST_POSTGRES_URL` names a server.
    static var available: [TestStorage] { TestPostgresServer.location == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A new PostgreSQL database (nil for SQLite), its password in a 0600 file in `directory`.
    func makeDatabase(passwordFileIn directory: String) async throws -> TestPostgresDatabase? {
        guard self == .postgres else { return nil }
        let location = try await TestPostgresServer.createDatabase("http")
        let passwordFile = directory + "/pg.password"
        FileManager.default.createFile(
            atPath: passwordFile, contents: Data(TestPostgresServer.password.utf8), attributes: [.posixPermissions: 0o600])
        return TestPostgresDatabase(
            name: location.database, settings: StorageSettings(backend: .postgres(location), passwordFile: passwordFile))
    }
}

struct TestPostgresDatabase: Sendable {
    let name: String
    let settings: StorageSettings

    func drop() async throws {
        try await TestPostgresServer.dropDatabase(name)
    }
}

enum TestPostgresServer {
    /// A new, empty database on the server `scripts/test` started; its location.
    static func createDatabase(_ prefix: String) async throws -> PostgresLocation {
        var location = try #require(Self.location, "CLEARINGHOUSE_TEST_POSTGRES_URL is not set (scripts/test sets it)")
        let server = location
        location.database = prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresMaintenance.execute("CREATE DATABASE \(location.database)", on: server, password: password)
        return location
    }

    /// Drops a database `createDatabase` made, ending its connections.
    static func dropDatabase(_ database: String) async throws {
        guard let server = location else { return }
        try await PostgresMaintenance.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", on: server, password: password)
    }

    static let location: PostgresLocation? = {
        guard let url = ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_POSTGRES_URL"], !url.isEmpty,
            case .success(let location) = PostgresLocation.parse(url)
        else { return nil }
        return location
    }()
    static let password = ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_POSTGRES_PASSWORD"] ?? ""
}
