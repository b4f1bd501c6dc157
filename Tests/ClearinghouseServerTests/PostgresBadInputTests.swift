import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseServer
import Foundation
import Testing

/// A wrongly configured or unreachable PostgreSQL stops the command at once, naming the setting
/// and what to do; an outage answers 503 and recovers.
@Suite("PostgreSQL settings and outages", .enabled(if: TestPostgresServer.location != nil, "needs the PostgreSQL server scripts/test starts"))
struct PostgresBadInputTests {
    func run(_ arguments: [String], url: String, password: String? = TestPostgresServer.password, extra: [String: String] = [:]) async throws
        -> (status: Int32, errors: String)
    {
        let directory = NSTemporaryDirectory() + "pg-bad-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = extra
        environment[StorageSettings.passwordVariable] = password ?? ""
        let result = try await ChildProcess.run(
            DaemonProcess.binary, arguments + ["--data-dir", directory, "--storage-url", url], environment: environment)
        return (result.status, String(decoding: result.stderr, as: UTF8.self))
    }

    @Test("wrong password, refused port, missing database, missing CA file, password in the URL, a newer schema")
    func badSettings() async throws {
        let good = try await TestPostgresServer.createDatabase("bad")
        let url = "\(good)"

        let wrong = try await run(["partner", "add", "acme", "--name", "Acme"], url: url, password: "not-the-password")
        #expect(wrong.status != 0 && wrong.errors.contains("refused the password") && wrong.errors.contains("CLEARINGHOUSE_STORAGE_PASSWORD"))
        #expect(!wrong.errors.contains("not-the-password"), "the password is never printed")
        var closed = good
        closed.port = 1
        let refused = try await run(["stats"], url: "\(closed)")
        #expect(refused.status != 0 && refused.errors.contains("cannot reach the PostgreSQL server of setting 'storage.url'"))
        var missing = good
        missing.database = "no_such_database"
        let absent = try await run(["stats"], url: "\(missing)")
        #expect(absent.status != 0 && absent.errors.contains("no_such_database"))
        let noCA = try await run(["stats"], url: url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=verify-full"))
        #expect(noCA.status != 0 && noCA.errors.contains("storage.ca_file"))
        let badCA = try await run(
            ["stats"], url: url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=verify-full"),
            extra: ["CLEARINGHOUSE_STORAGE_CA_FILE": "/nonexistent/ca.pem"])
        #expect(badCA.status != 0 && badCA.errors.contains("/nonexistent/ca.pem"))
        let inURL = try await run(["stats"], url: url.replacingOccurrences(of: "clearinghouse@", with: "clearinghouse:secret@"))
        #expect(inURL.status != 0 && inURL.errors.contains("holds a password") && !inURL.errors.contains("secret"))
        let unmigrated = try await run(["stats"], url: url)
        #expect(unmigrated.status != 0 && unmigrated.errors.contains("start the daemon"))

        // A schema from a newer version: refused by name, nothing migrated further.
        let created = try await run(["partner", "add", "acme", "--name", "Acme"], url: url)
        #expect(created.status == 0, "\(created.errors)")
        try await PostgresMaintenance.execute(
            "INSERT INTO schema_migration (name) VALUES ('pg99-from-the-future')", on: good, password: TestPostgresServer.password)
        let newer = try await run(["partner", "add", "globex", "--name", "Globex"], url: url)
        #expect(newer.status != 0 && newer.errors.contains("newer clearinghouse") && newer.errors.contains("pg99-from-the-future"))
        try await TestPostgresServer.dropDatabase(good.database)
    }

    @Test("a database of an earlier version (no dropped lines) is migrated when a writing command opens it")
    func earlierSchemaIsMigrated() async throws {
        let database = try await TestPostgresServer.createDatabase("upgrade")
        let directory = NSTemporaryDirectory() + "pg-upgrade-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func run(_ arguments: [String]) async throws -> ChildProcess.Result {
            try await ChildProcess.run(
                DaemonProcess.binary, arguments + ["--data-dir", directory, "--storage-url", "\(database)"],
                environment: [StorageSettings.passwordVariable: TestPostgresServer.password])
        }
        #expect(try await run(["partner", "add", "acme", "--name", "Acme"]).status == 0)
        // What the previous version left: every migration but pg3.
        for statement in [
            "ALTER TABLE batch DROP COLUMN dropped_lines", "DELETE FROM schema_migration WHERE name = 'pg3-batch-dropped-lines'",
        ] {
            try await PostgresMaintenance.execute(statement, on: database, password: TestPostgresServer.password)
        }
        await #expect(throws: (any Error).self) {
            try await PostgresMaintenance.execute("SELECT dropped_lines FROM batch", on: database, password: TestPostgresServer.password)
        }
        let again = try await run(["partner", "add", "globex", "--name", "Globex"])
        #expect(again.status == 0, "\(String(decoding: again.stderr, as: UTF8.self))")
        try await PostgresMaintenance.execute("SELECT dropped_lines FROM batch", on: database, password: TestPostgresServer.password)
        try await TestPostgresServer.dropDatabase(database.database)
    }

    @Test("an outage: /readyz, writes and portal pages answer 503 (Retry-After, nothing stored), and all recover")
    func outage() async throws {
        let server = try #require(TestPostgresServer.location)
        try await TestDaemon.run(storage: .postgres) { client, daemon in
            guard case .postgres(let location) = daemon.settings.storage.backend else { return }
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let read = APIKey.generate()
            try await daemon.runtime.store.addKey(partner: PartnerID("acme")!, key: read, role: .read, label: nil, at: WallClock.nowMilliseconds())
            let session = try #require(try await PortalTests.signIn(client, key: read.text).session)
            // Take the database away: refuse new connections and end the open ones.
            try await PostgresMaintenance.execute(
                "ALTER DATABASE \(location.database) WITH ALLOW_CONNECTIONS false", on: server, password: TestPostgresServer.password)
            try await PostgresMaintenance.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(location.database)'", on: server,
                password: TestPostgresServer.password)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            let write = try await client.upload("/v1/consents", Lines.body([Lines.consent("ann")]), as: daemon.keys["acme"]!)
            #expect(write.status == .serviceUnavailable && write.headers[.retryAfter] != nil)
            #expect(write.errorCode == "storage_unavailable")
            // A portal page says so too, as a page with the portal's headers.
            let page = try await PortalTests.page(client, "/portal/overview", session: session)
            #expect(page.status == .serviceUnavailable && page.headers[.retryAfter] != nil)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true && page.text.contains("storage_unavailable"))
            #expect(page.headers[.contentSecurityPolicy] != nil)
            try await PostgresMaintenance.execute(
                "ALTER DATABASE \(location.database) WITH ALLOW_CONNECTIONS true", on: server, password: TestPostgresServer.password)
            let deadline = ContinuousClock.now + .seconds(30)
            while try await client.execute(uri: "/readyz", method: .get).status != .ok {
                try #require(ContinuousClock.now < deadline, "/readyz did not recover within 30 s")
                try await Task.sleep(for: .milliseconds(200))
            }
            let stats = try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds())
            #expect(stats.liveConsents == 0, "the write during the outage stored nothing")
            let again = try await client.upload("/v1/consents", Lines.body([Lines.consent("ann")]), as: daemon.keys["acme"]!)
            #expect(again.status == .ok)
            #expect(try await PortalTests.page(client, "/portal/overview", session: session).status == .ok, "the session outlives the outage")
        }
    }
}

/// The connection to PostgreSQL over TLS, against the server `scripts/test` starts with a
/// development CA (`CLEARINGHOUSE_TEST_POSTGRES_CA`).
@Suite(
    "PostgreSQL over TLS",
    .enabled(if: ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_POSTGRES_CA"] != nil, "needs the TLS cluster scripts/test starts"))
struct PostgresTLSTests {
    @Test("verify-full with the server's CA connects, require connects, another CA is refused, disable still works")
    func sslModes() async throws {
        let ca = try #require(ProcessInfo.processInfo.environment["CLEARINGHOUSE_TEST_POSTGRES_CA"])
        let directory = NSTemporaryDirectory() + "pg-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let location = try await TestPostgresServer.createDatabase("tls")
        func run(_ mode: PostgresLocation.SSLMode, ca: String?, _ arguments: [String]) async throws -> ChildProcess.Result {
            var target = location
            target.sslMode = mode
            var environment = [StorageSettings.passwordVariable: TestPostgresServer.password]
            if let ca { environment["CLEARINGHOUSE_STORAGE_CA_FILE"] = ca }
            return try await ChildProcess.run(
                DaemonProcess.binary, arguments + ["--data-dir", directory, "--storage-url", "\(target)"], environment: environment)
        }
        let added = try await run(.verifyFull, ca: ca, ["partner", "add", "acme", "--name", "Acme"])
        #expect(added.status == 0, "\(String(decoding: added.stderr, as: UTF8.self))")
        #expect(try await run(.require, ca: nil, ["stats"]).status == 0)
        #expect(try await run(.disable, ca: nil, ["stats"]).status == 0)
        // A CA that did not sign the server's certificate: the handshake fails, nothing is read.
        let otherCA = directory + "/other"
        _ = try await ChildProcess.run("/bin/bash", [Self.repository + "/scripts/make-certs", "--out", otherCA])
        let refused = try await run(.verifyFull, ca: otherCA + "/ca.pem", ["stats"])
        #expect(refused.status != 0)
        #expect(String(decoding: refused.stderr, as: UTF8.self).contains("did not sign"))
        try await TestPostgresServer.dropDatabase(location.database)
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}
