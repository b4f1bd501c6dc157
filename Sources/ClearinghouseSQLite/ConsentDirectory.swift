import ClearinghouseCore
import GRDB
import Synchronization

/// One partner's persons with live consent, by person key, kept in memory between that
/// partner's signal batches.
///
/// Partners upload their consents, then batch after batch of signals. Looking every batch up
/// again in the person-key index and the consent table cost two walks of the partner's data or
/// two seeks a person, a batch (a third of an upload's work at 1 M signals); with a directory a
/// line's person is found in memory, in a bucket of a handful of entries.
///
/// **What a directory answers.** It holds, for each person with live consent, the first 12 bytes
/// (96 bits) of the person key and the person id, sorted by those bytes and bucketed by their top
/// bits: 16 bytes a person. A line whose key's first 12 bytes are not there has no live consent
/// (every consented key's are); a line whose bytes are there is that person. Person keys are
/// HMAC-SHA256 outputs, so any two of N keys share their first 96 bits with a probability of
/// about N^2 / 2^97 (6e-10 for ten billion persons, ever), below the odds of a memory error; and
/// if it happened, the signal would count for another person the same partner holds consent for,
/// never for one it does not. Entries with person 0 answer nothing: prefixes two consented
/// persons share, and consents that expire within a day of the build (so that staggered expiries
/// do not rebuild the directory every few seconds); their lines are looked up in the database.
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
/// **Memory.** The directories held, with the one build that may run (a lookup that finds
/// another running goes to the database), stay within ``budgetBytes``: the least recently used
/// go before a build allocates, what the build allocates counts while it runs, and a directory
/// that no longer holds is dropped before its successor is built. The build sorts in place, in
/// an array of exactly the partner's live consents. A partner with more live consents than fit
/// is looked up without one. A directory dropped or evicted while a lookup still uses it is
/// freed when that lookup ends (a batch's lookup, at most one directory each).
final class ConsentDirectories: Sendable {
    /// A consented person: the person key's first 96 bits and the person id, 16 bytes.
    struct Entry: Sendable, Equatable {
        /// The key's first 8 bytes as a big-endian word (so integer order is key order).
        var high: UInt64
        /// The key's next 4 bytes, likewise.
        var low: UInt32
        /// The person id; 0 when the directory does not answer for this prefix: it is shared,
        /// or its consent expires soon after the build. (Person ids start at 1.)
        var person: UInt32

        init(key: (UInt64, UInt64, UInt64, UInt64), person: UInt32) {
            high = key.0
            low = UInt32(truncatingIfNeeded: key.1 >> 32)
            self.person = person
        }

        static func < (left: Entry, right: Entry) -> Bool { (left.high, left.low) < (right.high, right.low) }
        func samePrefix(_ other: Entry) -> Bool { high == other.high && low == other.low }
    }

    struct Directory: Sendable {
        let partner: Int64
        let mark: Int64
        let validFrom: Int64
        let validUntil: Int64
        /// Sorted by prefix.
        let entries: [Entry]
        /// `starts[b]..<starts[b + 1]` are the entries whose key's top bits are `b`: keys are
        /// HMAC output, evenly spread, so a bucket holds a handful and a lookup reads its two
        /// starts and a cache line or two of entries, where a binary search over millions missed
        /// the cache some twenty times.
        let starts: [UInt32]
        let bucketShift: UInt64

        enum Match: Equatable {
            case none
            case person(UInt32)
            case lookUpInFull
        }

        /// Sorts `entries` in place and marks the prefixes two of them share (person 0).
        init(partner: Int64, mark: Int64, validFrom: Int64, validUntil: Int64, sorting entries: consuming [Entry]) {
            let bits = Self.bucketBits(entries.count)
            let shift = UInt64(64 - bits)
            let starts = Self.sortInPlace(&entries, shift: shift, buckets: 1 << bits)
            for index in entries.indices.dropFirst() where entries[index].samePrefix(entries[index - 1]) {
                entries[index].person = 0
                entries[index - 1].person = 0
            }
            self.init(
                partner: partner, mark: mark, validFrom: validFrom, validUntil: validUntil, entries: entries, starts: starts,
                bucketShift: shift)
        }

        private init(
            partner: Int64, mark: Int64, validFrom: Int64, validUntil: Int64, entries: [Entry], starts: [UInt32], bucketShift: UInt64
        ) {
            self.partner = partner
            self.mark = mark
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.entries = entries
            self.starts = starts
            self.bucketShift = bucketShift
        }

        func match(_ key: (UInt64, UInt64, UInt64, UInt64)) -> Match {
            let probe = Entry(key: key, person: 0)
            let bucket = Int(probe.high >> bucketShift)
            var low = Int(starts[bucket]), high = Int(starts[bucket + 1])
            while low < high {
                let middle = (low + high) / 2
                if entries[middle] < probe { low = middle + 1 } else { high = middle }
            }
            guard low < Int(starts[bucket + 1]), entries[low].samePrefix(probe) else { return .none }
            return entries[low].person == 0 ? .lookUpInFull : .person(entries[low].person)
        }

        func holds(at now: Int64) -> Bool { now >= validFrom && now < validUntil }

        /// The same directory, known to hold up to a later ledger mark.
        func confirmed(through later: Int64) -> Directory {
            Directory(
                partner: partner, mark: later, validFrom: validFrom, validUntil: validUntil, entries: entries, starts: starts,
                bucketShift: bucketShift)
        }

        /// Bytes allocated for the directory.
        var bytes: Int { entries.capacity * MemoryLayout<Entry>.stride + starts.capacity * MemoryLayout<UInt32>.stride }

        /// Four to eight entries a bucket on average: from 2 buckets to 2^22.
        static func bucketBits(_ count: Int) -> Int { max(1, min(22, Int.bitWidth - count.leadingZeroBitCount - 3)) }

        /// What a directory of `count` entries allocates, its build included (the bucket
        /// cursors it drops when done).
        static func bytes(for count: Int) -> Int {
            count * MemoryLayout<Entry>.stride + 2 * ((1 << bucketBits(count)) + 1) * MemoryLayout<UInt32>.stride
        }

        /// Radix sort on the top bits in place (each entry moved to its bucket by following
        /// cycles, no second array), then insertion inside each bucket; returns the buckets'
        /// starts. In place because a copy would double the build's memory at millions of entries.
        private static func sortInPlace(_ entries: inout [Entry], shift: UInt64, buckets: Int) -> [UInt32] {
            var starts = [UInt32](repeating: 0, count: buckets + 1)
            for entry in entries { starts[Int(entry.high >> shift) + 1] += 1 }
            for bucket in 1...buckets { starts[bucket] += starts[bucket - 1] }
            var next = Array(starts.dropLast())
            entries.withUnsafeMutableBufferPointer { entries in
                for bucket in 0..<buckets {
                    while next[bucket] < starts[bucket + 1] {
                        var moving = entries[Int(next[bucket])]
                        var home = Int(moving.high >> shift)
                        while home != bucket {
                            swap(&moving, &entries[Int(next[home])])
                            next[home] += 1
                            home = Int(moving.high >> shift)
                        }
                        entries[Int(next[bucket])] = moving
                        next[bucket] += 1
                    }
                }
                for bucket in 0..<buckets where starts[bucket + 1] - starts[bucket] > 1 {
                    for index in Int(starts[bucket] + 1)..<Int(starts[bucket + 1]) {
                        let entry = entries[index]
                        var at = index
                        while at > Int(starts[bucket]) && entry < entries[at - 1] {
                            entries[at] = entries[at - 1]
                            at -= 1
                        }
                        entries[at] = entry
                    }
                }
            }
            return starts
        }
    }

    /// Directories together, and a build with them, stay within this many bytes by default
    /// (about 6.8 million consented persons).
    static let defaultBudgetBytes = 112 << 20
    let budgetBytes: Int
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
        /// What the running build allocates, counted with the directories held.
        var reservedBytes = 0

        var bytes: Int { directories.map(\.bytes).reduce(0, +) + reservedBytes }

        /// Drops the least recently used directories, but never `keeping`'s partner's, until
        /// the budget holds or only that one is left.
        mutating func evict(keeping partner: Int64?, budget: Int) {
            while bytes > budget, let index = directories.firstIndex(where: { $0.partner != partner }) {
                directories.remove(at: index)
            }
        }
    }

    private let held = Mutex(Held())

    /// `budgetBytes` is a parameter for tests, which make it small.
    init(budgetBytes: Int = ConsentDirectories.defaultBudgetBytes) {
        self.budgetBytes = budgetBytes
    }

    /// The partner's directory if it answers a lookup at `now` in `db` (a read whose ledger mark
    /// is `mark`); when there is none that holds, one is built from `db` if `mayBuild`, no other
    /// build is running and the partner's live consents fit the budget. Nil when the lookup goes
    /// without.
    func directory(_ db: Database, partner: AuthenticatedPartner, at now: Int64, mark: Int64, mayBuild: Bool = true) throws -> Directory? {
        if let found = try heldDirectory(db, partner: partner, at: now, mark: mark) { return found }
        guard mayBuild else { return nil }
        let mayStart = held.withLock { held in
            guard !held.building else { return false }
            held.building = true
            return true
        }
        guard mayStart else { return nil }
        defer {
            held.withLock { held in
                held.building = false
                held.reservedBytes = 0
            }
        }
        let live = try Int.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) FROM (SELECT 1 FROM consent c WHERE c.partner_id = ?1 AND \(LiveConsent.sql(alias: "c", now: "?2"))
                LIMIT ?3)
                """, arguments: [partner.rowID, now, budgetBytes / MemoryLayout<Entry>.stride + 1]) ?? 0
        let needed = Directory.bytes(for: live)
        guard needed <= budgetBytes else { return nil }
        // Room first: the least recently used directories go before the build allocates, and what
        // it allocates counts against the budget while it runs.
        held.withLock { held in
            held.reservedBytes = needed
            held.evict(keeping: nil, budget: budgetBytes)
        }
        guard let built = try Self.build(db, partner: partner.rowID, at: now, mark: mark, capacity: live) else { return nil }
        keep(built, as: .built)
        return built
    }

    /// The partner's held directory if it answers a lookup at `now` in a read of ledger mark
    /// `mark`; one that does not is dropped here, before any build, so that it never sits beside
    /// its successor nor stays when there is none.
    private func heldDirectory(_ db: Database, partner: AuthenticatedPartner, at now: Int64, mark: Int64) throws -> Directory? {
        let current = held.withLock { held -> Directory? in
            guard let index = held.directories.lastIndex(where: { $0.partner == partner.rowID }) else { return nil }
            let found = held.directories.remove(at: index)
            held.directories.append(found)
            return found
        }
        guard let current else { return nil }
        if current.holds(at: now) {
            // Built from a read as new as this one or newer: the writer checks the lookup from this
            // read's mark, which covers any change in between.
            if current.mark >= mark { return current }
            if try !ConsentLookup.consentsMayHaveChanged(db, partner: partner.id, after: current.mark, through: mark) {
                // Nothing changed up to this read: the next check starts from here.
                let confirmed = current.confirmed(through: mark)
                keep(confirmed, as: .confirmed)
                return confirmed
            }
        }
        held.withLock { held in
            held.directories.removeAll { $0.partner == current.partner && $0.mark == current.mark && $0.validFrom == current.validFrom }
        }
        return nil
    }

    private enum Kept {
        /// A build's: its reservation ends as the directory is counted.
        case built
        /// The held directory known to hold to a later mark: kept only if that one still is
        /// (evicted meanwhile, it does not come back past the budget).
        case confirmed
    }

    /// Keeps `directory` in place of the partner's last, unless a drop since its read made it
    /// stale.
    private func keep(_ directory: Directory, as kind: Kept) {
        held.withLock { held in
            if kind == .built { held.reservedBytes = 0 }
            guard directory.mark >= max(held.allDroppedAt, held.droppedAt[directory.partner] ?? 0) else { return }
            if kind == .confirmed && !held.directories.contains(where: { $0.partner == directory.partner }) { return }
            held.directories.removeAll { $0.partner == directory.partner }
            held.directories.append(directory)
            // Others go first; the directory just kept never evicts itself.
            held.evict(keeping: directory.partner, budget: budgetBytes)
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
    /// into an array of exactly their number, then sorted in place; nil when a person id does
    /// not fit 32 bits (the partner is then looked up in the database).
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
            var expiresSoon = false
            if let expires = row.optionalInt64(2) {
                if expires - now < expiryMargin { expiresSoon = true } else { validUntil = min(validUntil, expires) }
            }
            // The key's words as a lookup's lines hold them, so that both compare alike.
            entries.append(Entry(key: ConsentLookup.KeyedID(key: key, id: 0).key, person: expiresSoon ? 0 : UInt32(person)))
        }
        guard fits else { return nil }
        // The latest expiry at or before the build: a batch timed after it sees the same live set.
        let validFrom = try Int64.fetchOne(
            db, sql: "SELECT MAX(expires_at) FROM consent WHERE partner_id = ? AND expires_at <= ?", arguments: [partner, now]) ?? Int64.min
        return Directory(partner: partner, mark: mark, validFrom: validFrom, validUntil: validUntil, sorting: consume entries)
    }
}
