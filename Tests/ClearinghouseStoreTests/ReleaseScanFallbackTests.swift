import ClearinghouseCore
import ClearinghouseSQLite
import Foundation
import GRDB
import InMemoryLogging
import Logging
import Testing

/// SQLite's parallel release read needs every reader to see the same database state; when
/// batches keep committing, it reads with one reader instead. That costs cores, so it is never
/// silent: a warning (and a metric) says so, and the data read is still one consistent state.
@Suite("Release scan on SQLite: the one-reader fallback")
struct ReleaseScanFallbackTests {
    /// Records every person, and on its first one commits a ledger entry through a connection of
    /// its own, as a batch committing mid-read would: every reader that starts after it sees
    /// another ledger mark than the plan.
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
            // A throwaway database: a bare ledger row moves the mark (its hash chain is not checked here).
            let queue = try? DatabaseQueue(path: path)
            try? queue?.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO ledger (sequence, at, action, partner, details, previous_hash, hash)
                        SELECT COALESCE(MAX(sequence), 0) + 1, 0, 'purge', NULL, '{}', x'00', x'00' FROM ledger
                        """)
            }
        }
    }

    @Test("batches committing through every parallel attempt: one reader, a warning, the same persons")
    func fallbackIsVisible() async throws {
        let directory = NSTemporaryDirectory() + "scan-fallback-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/clearinghouse.sqlite"
        let logs = InMemoryLogHandler()
        let store = try SQLiteStore.open(
            path: path, pseudonymizer: TestDatabase.deriver.auditPseudonymizer, logger: Logger(label: "scan", factory: { _ in logs }))
        try await store.bindPepper(fingerprint: TestDatabase.deriver.fingerprint)
        try await ReleaseEngineTests.fill(store, seed: 4)
        let expected = try await store.releaseFeed(parts: 1)

        let (_, sinks) = try await store.readReleaseSignals(at: Batches.now, parts: 6, concurrency: 2) { catalog in
            CommittingSink(catalog: catalog, path: path)
        }
        #expect(sinks.count == 1, "read with one reader")
        #expect(RecordingSink.canonical(sinks.map(\.recording)) == expected, "the persons of one consistent state")
        let messages = logs.entries.map { "\($0.level) \($0.message)" }
        #expect(messages.filter { $0.contains("reading again") }.count == 2)
        #expect(messages.contains { $0.hasPrefix("warning") && $0.contains("reads with one reader instead") })

        // Without commits in between, the parallel read stands: six ranges read by two readers,
        // each with one sink it keeps across its ranges, and no warning.
        let quiet = InMemoryLogHandler()
        let calm = try SQLiteStore.open(
            path: path, pseudonymizer: TestDatabase.deriver.auditPseudonymizer, logger: Logger(label: "scan", factory: { _ in quiet }))
        let (_, parallel) = try await calm.readReleaseSignals(at: Batches.now, parts: 6, concurrency: 2) { RecordingSink(catalog: $0) }
        #expect(parallel.count == 2)
        #expect(RecordingSink.canonical(parallel) == expected)
        #expect(!quiet.entries.contains { $0.level == .warning })
    }
}
