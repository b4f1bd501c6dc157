import ClearinghouseCore
import GRDB
import Synchronization

/// One partner's persons with live consent, sorted by person key, kept in memory between that
/// partner's signal batches.
///
/// Partners upload their consents, then batch after batch of signals. Looking every batch up
/// again in the person-key index and the consent table cost two walks of the partner's data a
/// batch (a third of an upload's work at 1 M signals); with a directory a batch's keys are
/// found by binary search in memory. A directory is the state of the read it was built from
/// (its ledger mark) at the time it was built for (`builtAt`), and is used for a batch only when
/// - the batch's time is not before `builtAt` (a consent that expired in between would be
///   missing) and is before `validUntil`, the earliest expiry among its consents (none becomes
///   stale by time alone), and
/// - no ledger entry after its mark may have changed the partner's consents (the rule of
///   ``LedgerAction/mayChangeConsents(of:entryPartner:)``, checked in the lookup's own read).
/// A lookup that used a directory is checked again by the writer like any other
/// (``ConsentLookup/isCurrent(_:partner:)``). The partner's own consent and revocation batches
/// drop its directory before they answer, so it holds no revoked person for longer than that.
///
/// Memory: 40 bytes a consented person; directories together stay within ``budgetBytes`` (the
/// least recently used goes first), and a partner with more consents than fit is looked up
/// without one. It holds person keys (HMACs under the pepper, as the database does), never a
/// token.
final class ConsentDirectories: Sendable {
    struct Directory: Sendable {
        let partner: Int64
        let mark: Int64
        let builtAt: Int64
        let validUntil: Int64
        /// Sorted by key; `id` is the person.
        let entries: [ConsentLookup.KeyedID]

        /// The person holding `key`, or nil.
        func person(_ key: (UInt64, UInt64, UInt64, UInt64)) -> UInt32? {
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].key < key { low = middle + 1 } else { high = middle }
            }
            return low < entries.count && entries[low].key == key ? entries[low].id : nil
        }
    }

    /// Directories together stay within this many bytes.
    static let budgetBytes = 32 << 20
    static let entryBytes = MemoryLayout<ConsentLookup.KeyedID>.stride

    /// Most recently used last.
    private let held = Mutex<[Directory]>([])

    init() {}

    /// The partner's directory if it answers a lookup at `now` in `db` (a read whose ledger mark
    /// is `mark`), building one when there is none or it is stale and the partner's consents fit
    /// the budget; nil when the lookup goes without.
    func directory(_ db: Database, partner: AuthenticatedPartner, at now: Int64, mark: Int64) throws -> Directory? {
        let current = held.withLock { $0.last { $0.partner == partner.rowID } }
        if let current, now >= current.builtAt, now < current.validUntil {
            let later = try Row.fetchAll(
                db, sql: "SELECT action, partner FROM ledger WHERE sequence > ? AND sequence <= ?", arguments: [current.mark, mark])
            if !later.contains(where: { LedgerAction.mayChangeConsents(stored: $0[0], of: partner.id, entryPartner: $0[1]) }) {
                held.withLock { held in
                    if let index = held.lastIndex(where: { $0.partner == partner.rowID }) { held.append(held.remove(at: index)) }
                }
                return current
            }
        }
        let consents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM consent WHERE partner_id = ?", arguments: [partner.rowID]) ?? 0
        guard consents * Self.entryBytes <= Self.budgetBytes else { return nil }
        let built = try Self.build(db, partner: partner.rowID, at: now, mark: mark, capacity: consents)
        held.withLock { held in
            held.removeAll { $0.partner == partner.rowID }
            held.append(built)
            while held.map({ $0.entries.count * Self.entryBytes }).reduce(0, +) > Self.budgetBytes { held.removeFirst() }
        }
        return built
    }

    /// Drops a partner's directory (its consents changed).
    func drop(partner: Int64) {
        held.withLock { $0.removeAll { $0.partner == partner } }
    }

    /// Drops every directory (a purge may have changed anyone's consents).
    func dropAll() {
        held.withLock { $0.removeAll() }
    }

    /// The partners with a directory, for tests and diagnostics.
    var partners: [Int64] { held.withLock { $0.map(\.partner) } }

    /// One pass over the partner's live consents, each with its person's key (a rowid seek),
    /// then sorted by key.
    private static func build(_ db: Database, partner: Int64, at now: Int64, mark: Int64, capacity: Int) throws -> Directory {
        var entries: [ConsentLookup.KeyedID] = []
        entries.reserveCapacity(capacity)
        var validUntil = Int64.max
        let live = try RawStatement(
            db,
            sql: """
                SELECT p.key, c.person_id, c.expires_at FROM consent c JOIN person p ON p.id = c.person_id
                WHERE c.partner_id = ?1 AND \(LiveConsent.sql(alias: "c", now: "?2"))
                """)
        live.reset()
        live.bind(1, partner)
        live.bind(2, now)
        try live.forEachRow { row in
            let person = row.int64(1)
            guard let key = row.blob(0), key.count == PersonKey.byteCount, person > 0, person <= Int64(UInt32.max) else {
                throw StoreError.beyondColumnLimits
            }
            entries.append(ConsentLookup.KeyedID(key: key, id: Int(person)))
            if let expires = row.optionalInt64(2) { validUntil = min(validUntil, expires) }
        }
        ConsentLookup.KeyedID.sort(&entries)
        return Directory(partner: partner, mark: mark, builtAt: now, validUntil: validUntil, entries: entries)
    }
}
