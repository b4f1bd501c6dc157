import ClearinghouseCore
import ClearinghouseSQLite
import Foundation
import GRDB
import InMemoryLogging
import Logging
import Testing

/// SQLite's release scan reads every signal in one read transaction (one snapshot) and only then
/// feeds persons to its readers, so a batch committing meanwhile can neither split the readers
/// between two database states nor send the release back to one reader (as the index scan of
/// earlier versions could: it read ranges in separate transactions and fell back to one).
@Suite("Release scan on SQLite: one read, parallel readers")
struct ReleaseScanOneReadTests {
    /// Records every person, and on its first one appends a signal row through a connection of
    /// its own, as a batch committing mid-release would.
    final class CommittingSink: PersonSignalSink, @unchecked Sendable {
        // @unchecked: one reader fills a sink, and the test reads it after the scan returns.
        let recording: RecordingSink
        let path: String
        private var committed = false

        init(catalog: ReleaseCatalog, path: String) {
            recording = RecordingSink(catalog: catalog)
            self.path = path
        }

        func addPerson(items: UnsafeBufferPointer<Int32>, weights: UnsafeBufferPointer<Double>) {
            recording.addPerson(items: items, weights: weights)
            guard !committed else { return }
            committed = true
            // A throwaway database: a copy of a stored signal, for a person with consent, and a
            // bare ledger row to move the mark (its hash chain is not checked here).
            let queue = try? DatabaseQueue(path: path)
            try? queue?.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO signal (partner_id, person_id, category_id, weight, observed_at, batch_id)
                        SELECT partner_id, person_id, category_id, weight + 1, observed_at, batch_id FROM signal ORDER BY id LIMIT 1;
                        INSERT INTO ledger (sequence, at, action, partner, details, previous_hash, hash)
                        SELECT COALESCE(MAX(sequence), 0) + 1, 0, 'purge', NULL, '{}', x'00', x'00' FROM ledger
                        """)
            }
        }
    }

    @Test("a batch committing while the release feeds its readers: still two readers, the state read, no warning")
    func commitDuringFeed() async throws {
        let directory = NSTemporaryDirectory() + "scan-fallback-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/clearinghouse.sqlite"
        let logs = InMemoryLogHandler()
        let store = try SQLiteStore.open(
            path: path, pseudonymizer: TestDatabase.deriver.auditPseudonymizer, logger: Logger(label: "scan", factory: { _ in logs }))
        try await store.bindPepper(fingerprint: TestDatabase.deriver.fingerprint)
        try await ReleaseEngineTests.fill(store, seed: 4)
        let before = try await store.releaseFeed(parts: 1)

        let (_, sinks) = try await store.readReleaseSignals(at: Batches.now, parts: 6, concurrency: 2) { catalog in
            CommittingSink(catalog: catalog, path: path)
        }
        #expect(sinks.count == 2, "two readers, whatever commits meanwhile")
        #expect(RecordingSink.canonical(sinks.map(\.recording)) == before, "the persons of the state read")
        #expect(!logs.entries.contains { $0.level >= .warning })
        // The commit happened: the next read sees it.
        #expect(try await store.releaseFeed(parts: 1) != before)
    }
}
