import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseServer
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two `clearinghouse serve` processes on one PostgreSQL database, as behind a load balancer.
@Suite("Two daemons on one PostgreSQL database", .serialized, .enabled(if: TestPostgresServer.location != nil, "needs the PostgreSQL server scripts/test starts"))
struct TwoDaemonTests {
    /// Sends one body with curl; returns the status and the JSON answer.
    static func post(_ port: Int, _ path: String, _ body: String, key: String, idempotencyKey: String? = nil) async throws
        -> (status: String, batchID: Int?)
    {
        let file = NSTemporaryDirectory() + "two-daemons-" + UUID().uuidString
        let output = file + ".out"
        defer {
            try? FileManager.default.removeItem(atPath: file)
            try? FileManager.default.removeItem(atPath: output)
        }
        try Data(body.utf8).write(to: URL(fileURLWithPath: file))
        var arguments = [
            "-sS", "-o", output, "-w", "%{http_code}", "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/x-ndjson",
            "--data-binary", "@\(file)", "http://127.0.0.1:\(port)\(path)",
        ]
        if let idempotencyKey { arguments += ["-H", "Idempotency-Key: \(idempotencyKey)"] }
        let result = try await ChildProcess.run("/usr/bin/curl", arguments)
        let json = (FileManager.default.contents(atPath: output)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        return (String(decoding: result.stdout, as: UTF8.self), (json?["batch_id"] as? NSNumber)?.intValue)
    }

    @Test("ingest through both at once, one Idempotency-Key stored once, the scheduler lease passes on when its holder is killed, another pepper refused")
    func twoDaemons() async throws {
        let base = NSTemporaryDirectory() + "two-daemons-" + UUID().uuidString
        let (first, second, third) = (base + "/a", base + "/b", base + "/c")
        for directory in [first, second, third] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let location = try await TestPostgresServer.createDatabase("two")
        let url = "\(location)"
        let environment = [
            StorageSettings.passwordVariable: TestPostgresServer.password, "CLEARINGHOUSE_CLUSTER_LEASE_SECONDS": "2",
        ]
        func admin(_ arguments: [String], in directory: String) async throws -> ChildProcess.Result {
            try await ChildProcess.run(
                DaemonProcess.binary, arguments + ["--data-dir", directory, "--storage-url", url], environment: environment)
        }
        // The first host creates the pepper; the second gets copies of its key files (docs/postgresql.md).
        let added = try await admin(["partner", "add", "acme", "--name", "Acme"], in: first)
        #expect(added.status == 0, "\(String(decoding: added.stderr, as: UTF8.self))")
        let key = try #require(String(decoding: added.stdout, as: UTF8.self).split(separator: "\n").last.map(String.init))
        for file in ["pepper.key"] {
            try FileManager.default.copyItem(atPath: "\(first)/\(file)", toPath: "\(second)/\(file)")
        }
        let a = try await DaemonProcess.start(dataDirectory: first, arguments: ["--storage-url", url], environment: environment)
        let b = try await DaemonProcess.start(dataDirectory: second, arguments: ["--storage-url", url], environment: environment)
        var running = [a, b]
        defer { for daemon in running { kill(daemon.process.processIdentifier, SIGKILL) } }

        // Consents and signals through both daemons at once, and one batch sent to both.
        let persons = (0..<400).map { "person-\($0)" }
        let consents = persons.map { Lines.consent($0) }
        let signals = persons.flatMap { [Lines.signal($0, "tents"), Lines.signal($0, "boots")] }
        let statuses = try await withThrowingTaskGroup(of: String.self) { group in
            for (index, port) in [a.port, b.port].enumerated() {
                group.addTask { try await Self.post(port, "/v1/consents", Lines.body(consents), key: key, idempotencyKey: "consents-\(index)").status }
            }
            var all: [String] = []
            for try await status in group { all.append(status) }
            return all
        }
        #expect(statuses == ["200", "200"])
        let both = try await withThrowingTaskGroup(of: (status: String, batchID: Int?).self) { group in
            for port in [a.port, b.port] {
                group.addTask { try await Self.post(port, "/v1/signals", Lines.body(signals), key: key, idempotencyKey: "nightly") }
            }
            var all: [(status: String, batchID: Int?)] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        #expect(both.map(\.status) == ["200", "200"])
        #expect(both[0].batchID != nil && both[0].batchID == both[1].batchID, "one batch, replayed to the other")
        let stats = try await admin(["stats", "--format", "json"], in: first)
        let counts = try #require(try JSONSerialization.jsonObject(with: stats.stdout) as? [String: Any])
        #expect((counts["signals"] as? NSNumber)?.intValue == 800, "the batch sent to both daemons is stored once")
        #expect((counts["live_consents"] as? NSNumber)?.intValue == 400)

        // One scheduler at a time (release.every is 24h by default; the lease is kept anyway):
        // the holder is one of the two daemons; killed, the other takes the lease over.
        let store = try await PostgresStore.open(
            location, password: TestPostgresServer.password, caFile: nil, pseudonymizer: nil, migrating: false,
            logger: Logger(label: "two-daemons"))
        defer { store.close() }
        func holderPID() async throws -> Int32? {
            guard let holder = try await store.leaseHolder(SchedulerLease.name, at: WallClock.nowMilliseconds()) else { return nil }
            return Int32(holder.split(separator: ":").dropFirst().first ?? "")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await holderPID() == nil {
            try #require(ContinuousClock.now < deadline, "no daemon took the scheduler lease in 30 s")
            try await Task.sleep(for: .milliseconds(100))
        }
        let pid = try await holderPID()
        let (leader, follower) = pid == a.process.processIdentifier ? (a, b) : (b, a)
        #expect(pid == leader.process.processIdentifier, "the lease names one of the two daemons")
        try await leader.kill9()
        running = [follower]
        let killed = ContinuousClock.now
        while try await holderPID() != follower.process.processIdentifier {
            try #require(ContinuousClock.now < killed + .seconds(30), "the other daemon did not take the lease over in 30 s")
            try await Task.sleep(for: .milliseconds(100))
        }
        print("scheduler lease taken over \(ContinuousClock.now - killed) after kill -9 of its holder (lease 2 s)")
        let verify = try await admin(["audit", "verify"], in: first)
        #expect(verify.status == 0, "\(String(decoding: verify.stdout, as: UTF8.self))")

        // A third host with another pepper is refused, naming the file; one with none too.
        let missing = try await admin(["partner", "add", "globex", "--name", "Globex"], in: third)
        #expect(missing.status != 0 && String(decoding: missing.stderr, as: UTF8.self).contains("\(third)/pepper.key is missing"))
        FileManager.default.createFile(
            atPath: "\(third)/pepper.key", contents: Data((0..<32).map { _ in UInt8.random(in: 0...255) }),
            attributes: [.posixPermissions: 0o600])
        let other = try await ChildProcess.run(
            DaemonProcess.binary, ["serve", "--data-dir", third, "--storage-url", url, "--port", "0", "--metrics-port", "0"], environment: environment)
        #expect(other.status != 0)
        #expect(String(decoding: other.stderr, as: UTF8.self).contains("\(third)/pepper.key does not belong to this database"))
        try await follower.terminate()
        running = []
        try await TestPostgresServer.dropDatabase(location.database)
    }
}

/// Two schedulers on one database, each with its own lease, as two daemons run them.
@Suite("Scheduled releases with two daemons")
struct TwoSchedulerTests {
    @Test("only the lease holder releases: releases never come in pairs", arguments: TestStorage.available)
    func oneSchedulerAtATime(_ storage: TestStorage) async throws {
        let directory = NSTemporaryDirectory() + "two-schedulers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await storage.makeDatabase(passwordFileIn: directory)
        let settings = ServerSettings(
            dataDirectory: directory, privacy: PrivacySettings(k: 10, differentialPrivacy: false), releaseEverySeconds: 1,
            storage: database?.settings ?? StorageSettings(), leaseSeconds: 2)
        let logger = Logger(label: "two-schedulers")
        let stores = [
            try await StoreOpener.open(settings, access: .write, logger: logger),
            try await StoreOpener.open(settings, access: .write, logger: logger),
        ]
        let started = WallClock.nowMilliseconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for opened in stores {
                let lease = SchedulerLease(store: opened.store, leaseSeconds: 2, logger: logger)
                let scheduler = ReleaseScheduler(
                    service: ReleaseService(store: opened.store, settings: settings.privacy, budget: settings.budget),
                    intervalSeconds: 1, lease: lease, logger: logger)
                group.addTask { try await lease.run() }
                group.addTask { try await scheduler.run() }
            }
            // A liveness bound, not a timing: while the rest of the suite starts, an empty
            // database's release has taken 8-12 s on this 2-core machine, so 30 s was too short.
            let deadline = ContinuousClock.now + .seconds(120)
            while try await stores[0].store.releases().count < 4 {
                try #require(ContinuousClock.now < deadline, "fewer than 4 scheduled releases in 120 s")
                try await Task.sleep(for: .milliseconds(100))
            }
            group.cancelAll()
        }
        let times = try await stores[1].store.releases().compactMap { RFC3339.parseMilliseconds($0.createdAt) }.filter { $0 >= started }.sorted()
        #expect(times.count >= 4)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 >= 500 }, "two schedulers released at once: \(times)")
        for opened in stores { opened.close() }
        try await database?.drop()
    }
}
