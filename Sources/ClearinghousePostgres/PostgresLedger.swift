import ClearinghouseCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Appends ledger entries inside the caller's transaction, under the advisory lock
/// ``PostgresStore/ledgerLock``: the lock is held to commit, so the next append (in any daemon)
/// reads this entry as its head. READ COMMITTED matters here: the head is read by a statement
/// that starts after the lock is granted, so it sees the entry committed just before.
enum PostgresLedger {
    @discardableResult
    static func append(
        _ connection: PostgresConnection, action: LedgerAction, partner: String?, details: some Encodable, at now: Int64,
        logger: Logger
    ) async throws -> LedgerEntry {
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresStore.ledgerLock))", logger: logger)
        var head: LedgerHead?
        for try await (sequence, hash) in try await connection.query(
            "SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1", logger: logger
        ).decode((Int64, ByteBuffer).self) {
            head = LedgerHead(sequence: sequence, hash: hash.bytes)
        }
        let entry = try LedgerEntry.following(head, action: action, partner: partner, details: details, at: now)
        try await connection.query(
            """
            INSERT INTO ledger (sequence, at, action, partner, details, previous_hash, hash)
            VALUES (\(entry.sequence), \(now), \(action.rawValue), \(partner), \(entry.details), \(entry.previousHash.buffer), \(entry.hash.buffer))
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO meta (key, value) VALUES ('ledger_head', \(LedgerHead(entry).text))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, logger: logger)
        return entry
    }

    static func head(_ connection: PostgresConnection, logger: Logger) async throws -> LedgerHead? {
        for try await text in try await connection.query("SELECT value FROM meta WHERE key = 'ledger_head'", logger: logger)
            .decode(String.self)
        {
            return LedgerHead(text: text)
        }
        return nil
    }
}

extension PostgresStore {
    public func ledgerHashes() async throws -> [[UInt8]] {
        try await fetch("SELECT hash FROM ledger ORDER BY sequence").all(ByteBuffer.self).map(\.bytes)
    }

    public func ledgerHashes(after count: Int) async throws -> [[UInt8]] {
        try await fetch("SELECT hash FROM ledger WHERE sequence > \(Int64(count)) ORDER BY sequence").all(ByteBuffer.self).map(\.bytes)
    }

    public func ledgerEntries(_ filter: LedgerFilter) async throws -> [LedgerEntry] {
        let since = filter.since ?? Int64.min
        let partner = filter.partner
        let action = filter.action?.rawValue
        return try await fetch(
            """
            SELECT sequence, at, action, partner, details, previous_hash, hash FROM ledger
            WHERE at >= \(since) AND (\(partner)::text IS NULL OR partner = \(partner))
              AND (\(action)::text IS NULL OR action = \(action))
            ORDER BY sequence LIMIT \(Int64(filter.limit))
            """
        ).all((Int64, Int64, String, String?, String, ByteBuffer, ByteBuffer).self).map(Self.entry)
    }

    public func verifyLedger(receipts: [LedgerReceipt]) async throws -> LedgerVerification {
        try await readSnapshot { connection in
            var run = LedgerVerificationRun(receipts: receipts)
            var reading = true
            let rows = try await connection.query(
                "SELECT sequence, at, action, partner, details, previous_hash, hash FROM ledger ORDER BY sequence", logger: logger)
            for try await row in rows.decode((Int64, Int64, String, String?, String, ByteBuffer, ByteBuffer).self) where reading {
                reading = run.add(Self.entry(row))
            }
            return run.finish(head: try await PostgresLedger.head(connection, logger: logger))
        }
    }

    public func recordExport(_ details: ExportLedgerDetails, partner: String, at now: Int64) async throws -> Int64 {
        try await write { connection in
            try await PostgresLedger.append(
                connection, action: .exportWritten, partner: partner, details: details, at: now, logger: logger
            ).sequence
        }
    }

    private static func entry(_ row: (Int64, Int64, String, String?, String, ByteBuffer, ByteBuffer)) -> LedgerEntry {
        guard let action = LedgerAction(rawValue: row.2) else {
            // An unknown action can only be written by hand; it shows up as altered content.
            return LedgerEntry(
                sequence: row.0, at: row.1, action: .partnerAdded, partner: row.3, details: "unknown action \(row.2)",
                previousHash: row.5.bytes, storedHash: [])
        }
        return LedgerEntry(
            sequence: row.0, at: row.1, action: action, partner: row.3, details: row.4, previousHash: row.5.bytes,
            storedHash: row.6.bytes)
    }
}

extension ByteBuffer {
    /// The readable bytes as an array.
    var bytes: [UInt8] { Array(readableBytesView) }
}

extension Array where Element == UInt8 {
    /// Bound as `bytea` (a plain `[UInt8]` would bind as an array of "char").
    var buffer: ByteBuffer { ByteBuffer(bytes: self) }
}
