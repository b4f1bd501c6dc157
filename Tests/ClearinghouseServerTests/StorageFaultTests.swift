import ClearinghouseCore
import ClearinghouseSQLite
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The database refusing writes in the middle of a batch: disk full (SQLite's `SQLITE_FULL`,
/// raised here by capping the writer connection's `max_page_count` at the file's current
/// size, which is how SQLite reports ENOSPC too) and a read-only database (`query_only`, which
/// raises `SQLITE_READONLY` as a read-only file or mount does). Each time the batch answers 503
/// with Retry-After, stores nothing, reads keep working, and the same batch succeeds once the
/// fault is lifted.
@Suite("Storage faults")
struct StorageFaultTests {
    enum Fault: String, CaseIterable, Sendable {
        case diskFull
        case readOnly

        func inject(_ store: SQLiteStore) throws {
            switch self {
            case .diskFull:
                let pages = try #require(try store.writerPragma("page_count").flatMap(Int.init))
                #expect(try store.writerPragma("max_page_count = \(pages)") == "\(pages)")
            case .readOnly:
                _ = try store.writerPragma("query_only = 1")
                #expect(try store.writerPragma("query_only") == "1")
            }
        }

        func lift(_ store: SQLiteStore) throws {
            switch self {
            case .diskFull: _ = try store.writerPragma("max_page_count = 1073741823")
            case .readOnly: _ = try store.writerPragma("query_only = 0")
            }
        }
    }

    @Test("a batch that meets a full disk or a read-only database answers 503, stores nothing, and succeeds after recovery",
          arguments: Fault.allCases)
    func batchFailsWholeAndRecovers(fault: Fault) async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            let persons = (0..<3_000).map { "fault-person-\($0)" }
            let consents = try await client.upload("/v1/consents", Lines.body(persons.map { Lines.consent($0) }), as: acme)
            #expect(consents.status == .ok)
            let store = try #require(daemon.runtime.store as? SQLiteStore)
            let before = try Self.snapshot(daemon)

            try fault.inject(store)
            let batch = Lines.body(persons.flatMap { [Lines.signal($0, "tents"), Lines.signal($0, "stoves")] })
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "fault-batch-1"]
            let refused = try await client.upload("/v1/signals", batch, as: acme, headers: key)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorCode == "storage_unavailable")
            #expect(refused.headers[.retryAfter] == "5")
            #expect(try Self.snapshot(daemon) == before, "a refused batch stored something")

            // Reads keep working while writes fail.
            let releases = try await client.execute(
                uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(releases.status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)

            // Space returns (or the mount is writable again): the same batch is stored once.
            try fault.lift(store)
            let stored = try await client.upload("/v1/signals", batch, as: acme, headers: key)
            #expect(stored.status == .ok)
            #expect(stored.int("accepted") == persons.count * 2)
            #expect(stored.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == before.signals + persons.count * 2)
            #expect(try daemon.query { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")

            // The failure was logged by type, without a token or identifier.
            #expect(daemon.logText.contains("batch could not be stored"))
            #expect(!daemon.logText.contains(Lines.token(persons[0])))
            #expect(!daemon.logText.contains("fault-person-"))
        }
    }

    struct Snapshot: Equatable {
        let signals: Int
        let batches: Int
        let ledger: Int
        let persons: Int
    }

    static func snapshot(_ daemon: TestDaemon) throws -> Snapshot {
        Snapshot(
            signals: try daemon.count("SELECT COUNT(*) FROM signal"),
            batches: try daemon.count("SELECT COUNT(*) FROM batch"),
            ledger: try daemon.count("SELECT COUNT(*) FROM ledger"),
            persons: try daemon.count("SELECT COUNT(*) FROM person"))
    }
}
