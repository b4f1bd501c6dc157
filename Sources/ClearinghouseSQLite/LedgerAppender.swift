import ClearinghouseCore
import Foundation
import GRDB

/// Appends ledger entries inside the caller's transaction, so a change and its entry commit
/// together or not at all, and keeps the recorded head (`meta`) in step.
///
/// Used on the writer connection only, where SQLite serializes writers across processes, so
/// two appends can never take the same sequence number.
enum LedgerAppender {
    @discardableResult
    static func append(
        _ db: Database, action: LedgerAction, partner: String?, details: some Encodable, at now: Int64
    ) throws -> LedgerEntry {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(details), as: UTF8.self)
        let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1")
        let sequence: Int64 = (last?[0] ?? 0) + 1
        let previous: [UInt8] = (last?[1] as Data?).map(Array.init) ?? LedgerEntry.genesisHash
        let entry = LedgerEntry(sequence: sequence, at: now, action: action, partner: partner, details: text, previousHash: previous)
        try db.execute(
            sql: "INSERT INTO ledger (sequence, at, action, partner, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [sequence, now, action.rawValue, partner, text, Data(previous), Data(entry.hash)])
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES ('ledger_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: ["\(sequence):\(Hex.encode(entry.hash))"])
        return entry
    }

    /// The recorded head, `nil` before the first entry.
    static func head(_ db: Database) throws -> (sequence: Int64, hash: [UInt8])? {
        guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'ledger_head'") else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let sequence = Int64(parts[0]), let hash = Hex.decode(String(parts[1])) else {
            return (-1, [])
        }
        return (sequence, hash)
    }
}
