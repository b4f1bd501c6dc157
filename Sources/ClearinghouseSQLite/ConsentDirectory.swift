import ClearinghouseCore
import GRDB
import Synchronization

/// One partner's persons with live consent, by person key, kept in memory between that
/// partner's signal batches.
///
/// Partners upload their consents, then batch after batch of signals. Looking every batch up
/// again in the person-key index and the consent table cost two walks of the partner's data or
/// two seeks a person, a batch (a third of an upload's work at 1 M signals); with a directory a
/// line's person is found by binary search in memory.
///
/// **What a directory answers.** It holds, for each person with live consent, the first 16 bytes
/// (128 bits) of the person key and the person id, sorted by those bytes: 24 bytes a person. A
/// line whose key's first 16 bytes are not there has no live consent (every consented key's
/// are); a line whose bytes are there is that person. Person keys are HMAC-SHA256 outputs, so two
/// different keys share their first 128 bits with a probability of about N^2 / 2^129 for N
/// persons (1e-19 for ten billion), far below the odds of a memory error; and if it happened, the
/// signal would count for another person the same partner holds consent for. Prefixes that two
/// consented persons share are marked, and lines with one are looked up in full.
///
/// **When it holds.** A directory is the state of the read it was built from (its ledger mark)
/// at the time it was built for (`builtAt`). It is used for a batch only when the batch's time is
/// not before `builtAt` (a consent that expired in between would be missing) and is before the
/// earliest expiry among its consents (`validUntil`), and no ledger entry after its mark may have
/// changed the partner's consents (``LedgerAction/mayChangeConsents(of:entryPartner:)``, checked
/// in the lookup's own read). The writer checks the lookup again like any other
/// (``ConsentLookup/isCurrent(_:partner:)``). The partner's own consent and revocation batches
/// drop its directory before they answer, and a purge drops them all.
///
/// **Memory.** Directories together stay within ``budgetBytes`` (the least recently used goes
/// first); a partner with more live consents than fit is looked up without one.
final class ConsentDirectories: Sendable {
    struct Entry: Sendable {
        /// The person key's first 16 bytes as two big-endian words (so integer order is key order).
        var prefix: (UInt64, UInt64)
        var person: UInt32
    }

    struct Directory: Sendable {
        let partner: Int64
        let mark: Int64
        let builtAt: Int64
        let validUntil: Int64
        /// Sorted by prefix.
        let entries: [Entry]
        /// Prefixes that two or more consented persons share (lines with one are looked up in full).
        let shared: [UInt64: UInt64]

        enum Match {
            case none
            case person(UInt32)
            case ambiguous
        }

        func match(_ key: (UInt64, UInt64, UInt64, UInt64)) -> Match {
            let prefix = (key.0, key.1)
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].prefix < prefix { low = middle + 1 } else { high = middle }
            }
            guard low < entries.count, entries[low].prefix == prefix else { return .none }
            return shared[prefix.0] == prefix.1 ? .ambiguous : .person(entries[low].person)
        }
    }

    /// Directories together stay within this many bytes (2 M consented persons).
    static let budgetBytes = 48 << 20
    static let entryBytes = MemoryLayout<Entry>.stride

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
        // The stale one goes first: memory holds one directory per partner at a time.
        drop(partner: partner.rowID)
        let built = try Self.build(db, partner: partner.rowID, at: now, mark: mark, capacity: consents)
        held.withLock { held in
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
    /// then sorted by prefix.
    private static func build(_ db: Database, partner: Int64, at now: Int64, mark: Int64, capacity: Int) throws -> Directory {
        var entries: [Entry] = []
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
            let prefix = (
                UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
            entries.append(Entry(prefix: prefix, person: UInt32(person)))
            if let expires = row.optionalInt64(2) { validUntil = min(validUntil, expires) }
        }
        entries.sort { $0.prefix < $1.prefix }
        var shared: [UInt64: UInt64] = [:]
        for index in entries.indices.dropFirst() where entries[index].prefix == entries[index - 1].prefix {
            shared[entries[index].prefix.0] = entries[index].prefix.1
        }
        return Directory(partner: partner, mark: mark, builtAt: now, validUntil: validUntil, entries: entries, shared: shared)
    }
}
