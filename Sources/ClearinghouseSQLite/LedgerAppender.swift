import ClearinghouseCore
import Foundation
import GRDB

/// Appends ledger entries inside the caller's transaction, so a change and its entry commit
/// together or not at all, and keeps the recorded head (`meta`) in step.
///
/// Used on the writer connection only, where SQLite serializes writers across processes, so
/// two appends can never take the same sequence number (PostgreSQL takes a lock instead: see
/// `PostgresLedger`). The entry itself, its canonical details and hash, come from the domain.
///
/// Every append also says what its transaction did to signals (`signals`): once it commits,
/// the columnar copy hears it with the entry's sequence, on the writer's queue, so in commit
/// order. A caller that does not know says `.unknown` and the copy is dropped.
enum LedgerAppender {
    @discardableResult
    static func append(
        _ db: Database, action: LedgerAction, partner: String?, details: some Encodable, at now: Int64,
        signals change: SignalChange, copy: SignalCopy
    ) throws -> LedgerEntry {
        let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM ledger ORDER BY sequence DESC LIMIT 1")
        let head = last.map { LedgerHead(sequence: $0[0], hash: Array($0[1] as Data)) }
        let entry = try LedgerEntry.following(head, action: action, partner: partner, details: details, at: now)
        try db.execute(
            sql: "INSERT INTO ledger (sequence, at, action, partner, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [entry.sequence, now, action.rawValue, partner, entry.details, Data(entry.previousHash), Data(entry.hash)])
        try db.execute(
            sql: "INSERT INTO meta (key, value) VALUES ('ledger_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [LedgerHead(entry).text])
        let sequence = entry.sequence
        db.afterNextTransaction(onCommit: { _ in copy.committed(sequence: sequence, change: change) })
        return entry
    }

    /// The recorded head, `nil` before the first entry.
    static func head(_ db: Database) throws -> LedgerHead? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'ledger_head'").map(LedgerHead.init(text:))
    }
}
