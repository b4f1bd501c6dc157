import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func ledgerHashes() async throws -> [[UInt8]] {
        try await writer.read { db in
            try Data.fetchAll(db, sql: "SELECT hash FROM ledger ORDER BY sequence").map { Array($0) }
        }
    }

    public func ledgerHashes(after count: Int) async throws -> [[UInt8]] {
        try await writer.read { db in
            try Data.fetchAll(db, sql: "SELECT hash FROM ledger WHERE sequence > ? ORDER BY sequence", arguments: [count])
                .map { Array($0) }
        }
    }

    public func ledgerEntries(_ filter: LedgerFilter) async throws -> [LedgerEntry] {
        try await writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let since = filter.since {
                conditions.append("at >= ?")
                _ = arguments.append(contentsOf: [since])
            }
            if let partner = filter.partner {
                conditions.append("partner = ?")
                _ = arguments.append(contentsOf: [partner])
            }
            if let action = filter.action {
                conditions.append("action = ?")
                _ = arguments.append(contentsOf: [action.rawValue])
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [filter.limit])
            return try Row.fetchAll(
                db, sql: "SELECT \(Self.ledgerColumns) FROM ledger \(whereClause) ORDER BY sequence LIMIT ?", arguments: arguments
            ).map(Self.entry)
        }
    }

    public func verifyLedger(receipts: [LedgerReceipt]) async throws -> LedgerVerification {
        try await writer.read { db in
            var run = LedgerVerificationRun(receipts: receipts)
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(Self.ledgerColumns) FROM ledger ORDER BY rowid")
            while let row = try cursor.next(), run.add(try Self.entry(row)) {}
            return run.finish(head: try LedgerAppender.head(db))
        }
    }

    private static let ledgerColumns = "sequence, at, action, partner, details, previous_hash, hash"

    private static func entry(_ row: Row) throws -> LedgerEntry {
        let actionText: String = row[2]
        guard let action = LedgerAction(rawValue: actionText) else {
            // An unknown action can only be written by hand; it shows up as altered content.
            return LedgerEntry(
                sequence: row[0], at: row[1], action: .partnerAdded, partner: row[3], details: "unknown action \(actionText)",
                previousHash: Array(row[5] as Data), storedHash: [])
        }
        return LedgerEntry(
            sequence: row[0], at: row[1], action: action, partner: row[3], details: row[4],
            previousHash: Array(row[5] as Data), storedHash: Array(row[6] as Data))
    }
}
