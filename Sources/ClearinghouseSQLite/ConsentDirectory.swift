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
/// signal would count for another person the same partner holds consent for. Entries marked
/// `lookUpInFull` answer nothing: prefixes two consented persons share, and consents that expire
/// within a day of the build (so that staggered expiries do not rebuild the directory every few
/// seconds); their lines are looked up in the database.
///
/// **When it holds.** A directory is the state of the read it was built from (its ledger mark)
/// at the time it was built for. It is exact for any batch time in `validFrom..<validUntil`: no
/// consent of the partner expired in that window but those marked (`validFrom` is the latest
/// expiry before the build, `validUntil` the earliest unmarked expiry after it). It is used for a
/// batch only when the batch's time is in that window and no ledger entry after its mark may
/// have changed the partner's consents (``LedgerAction/mayChangeConsents(of:entryPartner:)``,
/// checked in the lookup's own read); the writer checks the lookup again like any other
/// (``ConsentLookup/isCurrent(_:partner:)``). The partner's own consent and revocation batches
/// drop its directory before they answer and record their ledger sequence, and a directory
/// built from an older read is not kept (a lookup that began before a revocation cannot bring
/// the revoked person back); a purge does the same for every partner.
///
/// **Memory.** Directories together stay within ``budgetBytes`` of allocated entries (the least
/// recently used goes first), and one build runs at a time (a lookup that finds another running
/// goes to the database), so at most twice the budget is ever allocated; a directory that no
/// longer holds is dropped before its successor is built. A partner with more live consents than
/// fit is looked up without one.
final class ConsentDirectories: Sendable {
    struct Entry: Sendable {
        /// The person key's first 16 bytes as two big-endian words (so integer order is key order).
        var prefix: (UInt64, UInt64)
        var person: UInt32
        /// The directory does not answer for this prefix: it is shared, or its consent expires
        /// soon after the build.
        var lookUpInFull: Bool
    }

    struct Directory: Sendable {
        let partner: Int64
        let mark: Int64
        let validFrom: Int64
        let validUntil: Int64
        /// Sorted by prefix.
        let entries: [Entry]

        enum Match: Equatable {
            case none
            case person(UInt32)
            case lookUpInFull
        }

        func match(_ key: (UInt64, UInt64, UInt64, UInt64)) -> Match {
            let prefix = (key.0, key.1)
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].prefix < prefix { low = middle + 1 } else { high = middle }
            }
            guard low < entries.count, entries[low].prefix == prefix else { return .none }
            return entries[low].lookUpInFull ? .lookUpInFull : .person(entries[low].person)
        }

        func holds(at now: Int64) -> Bool { now >= validFrom && now < validUntil }

        /// The same directory, known to hold up to a later ledger mark.
        func confirmed(through later: Int64) -> Directory {
            Directory(partner: partner, mark: later, validFrom: validFrom, validUntil: validUntil, entries: entries)
        }
    }

    /// Directories together stay within this many bytes (2 M consented persons), and one build
    /// at a time may allocate as much again while it runs.
    static let budgetBytes = 48 << 20
    static let entryBytes = MemoryLayout<Entry>.stride
    /// The most entries a build takes on: the budget less a margin for the allocator rounding the
    /// array's capacity up (a directory at the very limit would otherwise evict itself).
    static let entryLimit = budgetBytes / entryBytes - 1024
    /// Consents expiring this soon after a build are looked up in full rather than held.
    static let expiryMargin: Int64 = 86_400_000

    private struct Held {
        /// Most recently used last.
        var directories: [Directory] = []
        /// Per partner, the ledger sequence of the last change that dropped its directory; and
        /// the same for all partners (a purge).
        var droppedAt: [Int64: Int64] = [:]
        var allDroppedAt: Int64 = 0
        /// A build is running: other lookups go without rather than build beside it.
        var building = false
    }

    private let held = Mutex(Held())

    init() {}

    /// The partner's directory if it answers a lookup at `now` in `db` (a read whose ledger mark
    /// is `mark`); when there is none that holds, one is built from `db` if `mayBuild`, no other
    /// build is running and the partner's live consents fit the budget. Nil when the lookup goes
    /// without.
    func directory(_ db: Database, partner: AuthenticatedPartner, at now: Int64, mark: Int64, mayBuild: Bool = true) throws -> Directory? {
        let current = held.withLock { held -> Directory? in
            guard let index = held.directories.lastIndex(where: { $0.partner == partner.rowID }) else { return nil }
            let found = held.directories.remove(at: index)
            held.directories.append(found)
            return found
        }
        if let current, current.holds(at: now) {
            // Built from a read as new as this one or newer: the writer checks the lookup from this
            // read's mark, which covers any change in between.
            if current.mark >= mark { return current }
            if try !ConsentLookup.consentsMayHaveChanged(db, partner: partner.id, after: current.mark, through: mark) {
                // Nothing changed up to this read: the next check starts from here.
                let confirmed = current.confirmed(through: mark)
                keep(confirmed)
                return confirmed
            }
        }
        if let current {
            // Stale, or not for this batch's time: it goes now, so that it never sits beside its
            // successor, nor stays when there is none.
            held.withLock { held in
                held.directories.removeAll { $0.partner == current.partner && $0.mark == current.mark && $0.validFrom == current.validFrom }
            }
        }
        guard mayBuild else { return nil }
        let mayStart = held.withLock { held in
            guard !held.building else { return false }
            held.building = true
            return true
        }
        guard mayStart else { return nil }
        defer { held.withLock { $0.building = false } }
        let live = try Int.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) FROM (SELECT 1 FROM consent c WHERE c.partner_id = ?1 AND \(LiveConsent.sql(alias: "c", now: "?2"))
                LIMIT ?3)
                """, arguments: [partner.rowID, now, Self.entryLimit + 1]) ?? 0
        guard live <= Self.entryLimit, let built = try Self.build(db, partner: partner.rowID, at: now, mark: mark, capacity: live) else { return nil }
        keep(built)
        return built
    }

    /// Keeps `directory` in place of the partner's last, unless a drop since its read made it
    /// stale.
    private func keep(_ directory: Directory) {
        held.withLock { held in
            guard directory.mark >= max(held.allDroppedAt, held.droppedAt[directory.partner] ?? 0) else { return }
            held.directories.removeAll { $0.partner == directory.partner }
            held.directories.append(directory)
            while held.directories.map({ $0.entries.capacity * Self.entryBytes }).reduce(0, +) > Self.budgetBytes {
                held.directories.removeFirst()
            }
        }
    }

    /// Drops a partner's directory: its consents changed in the commit of ledger sequence
    /// `sequence`, and no directory built from an earlier read is kept from now on.
    func drop(partner: Int64, changedAt sequence: Int64) {
        held.withLock { held in
            held.directories.removeAll { $0.partner == partner }
            held.droppedAt[partner] = max(held.droppedAt[partner] ?? 0, sequence)
        }
    }

    /// Drops every directory (a purge may have changed anyone's consents), likewise.
    func dropAll(changedAt sequence: Int64) {
        held.withLock { held in
            held.directories.removeAll()
            held.allDroppedAt = max(held.allDroppedAt, sequence)
        }
    }

    /// The partners with a directory, for tests and diagnostics.
    var partners: [Int64] { held.withLock { $0.directories.map(\.partner) } }

    /// The ledger sequence through which the partner's directories have been dropped, for tests.
    func droppedThrough(partner: Int64) -> Int64 { held.withLock { max($0.allDroppedAt, $0.droppedAt[partner] ?? 0) } }

    /// One pass over the partner's live consents, each with its person's key (a rowid seek),
    /// then sorted by prefix; nil when a person id does not fit 32 bits (the partner is then
    /// looked up in the database).
    private static func build(_ db: Database, partner: Int64, at now: Int64, mark: Int64, capacity: Int) throws -> Directory? {
        var entries: [Entry] = []
        entries.reserveCapacity(capacity)
        var validUntil = Int64.max
        var fits = true
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
            guard fits, let key = row.blob(0), key.count == PersonKey.byteCount, person > 0, person <= Int64(UInt32.max) else {
                fits = false
                return
            }
            // The key's words as a lookup's lines hold them, so that both compare alike.
            let words = ConsentLookup.KeyedID(key: key, id: 0).key
            let prefix = (words.0, words.1)
            var expiresSoon = false
            if let expires = row.optionalInt64(2) {
                if expires - now < expiryMargin { expiresSoon = true } else { validUntil = min(validUntil, expires) }
            }
            entries.append(Entry(prefix: prefix, person: UInt32(person), lookUpInFull: expiresSoon))
        }
        guard fits else { return nil }
        entries.sort { $0.prefix < $1.prefix }
        for index in entries.indices.dropFirst() where entries[index].prefix == entries[index - 1].prefix {
            entries[index].lookUpInFull = true
            entries[index - 1].lookUpInFull = true
        }
        // The latest expiry at or before the build: a batch timed after it sees the same live set.
        let validFrom = try Int64.fetchOne(
            db, sql: "SELECT MAX(expires_at) FROM consent WHERE partner_id = ? AND expires_at <= ?", arguments: [partner, now]) ?? Int64.min
        return Directory(partner: partner, mark: mark, validFrom: validFrom, validUntil: validUntil, entries: entries)
    }
}
