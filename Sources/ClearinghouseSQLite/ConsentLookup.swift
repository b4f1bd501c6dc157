import ClearinghouseCore
import GRDB

/// Which lines of a signal batch name a person the batch's partner holds live consent for, and
/// which person, looked up in one database state.
///
/// Looking persons up is most of the work of storing signals: two index seeks per distinct
/// person, one on random 32-byte keys. So ``SQLiteStore`` does it in a read transaction before
/// it takes the writer, beside the single writer rather than inside it: while one batch is
/// appended, the next is looked up on the other core. The answer is true of the state its
/// ledger mark names; the writer uses it only if no entry since may have changed the partner's
/// consents (``isCurrent(_:partner:)``, by ``LedgerAction/mayChangeConsents(of:entryPartner:)``)
/// and looks up again inside its own transaction otherwise, so a signal is stored only under a
/// consent that is live when the batch commits, as before.
///
/// Keys are looked up in sorted order (and consents in person order), a chunk of lines at a
/// time: neighbouring seeks then read neighbouring index pages, which costs a third less than
/// seeking in arrival order on a large person table, and a chunk that names much of the table
/// walks it instead (see `Seeker`). Memory: 4 bytes a line for the answer, plus at most about
/// 13 MiB for the chunk being looked up, whatever the batch size.
struct ConsentLookup: Sendable {
    /// The ledger's latest sequence in the read the lookup saw.
    let mark: Int64
    /// Per line of the batch (in ``DecodedBatch/forEachSignal(_:)`` order): the stored id of a
    /// person with live consent, or 0 when the line's person has none (it is dropped). 32 bits,
    /// like the release's columns: SQLite cannot release more persons than that anyway.
    let persons: [UInt32]

    /// Lines sorted and sought together: this many 40-byte entries, their sorted copy and the
    /// distinct keys found are held at once (about 13 MiB).
    static let chunkLines = 1 << 17

    /// Looks up every line of `batch`, or only those in `considering` (a retry's dropped lines;
    /// the others are left 0), for `partner` at `now`: in the partner's directory when
    /// `directories` has one that holds (see ``ConsentDirectories``), else in the database.
    /// `walkRatio` (see `Seeker.walkRatio`) and `chunkLines` are parameters for tests, which
    /// force seeks or walks and small chunks.
    static func resolve(
        _ db: Database, _ batch: DecodedBatch, partner: AuthenticatedPartner, at now: Int64, considering: DroppedLines? = nil,
        directories: ConsentDirectories? = nil, buildingDirectory: Bool = true, walkRatio: Int64 = Seeker.walkRatio,
        chunkLines: Int = ConsentLookup.chunkLines
    ) throws -> ConsentLookup {
        let mark = try ReleaseRead.ledgerMark(db)
        var persons = [UInt32](repeating: 0, count: batch.received)
        let directory = try directories?.directory(db, partner: partner, at: now, mark: mark, mayBuild: buildingDirectory)
        let seeker = try Seeker(db, partnerID: partner.rowID, now: now, walkRatio: walkRatio)
        var chunk: [KeyedID] = []
        chunk.reserveCapacity(min(batch.received, chunkLines))
        func resolveChunk() throws {
            if let directory {
                try resolve(&chunk, through: directory, seeker: seeker, into: &persons)
            } else {
                try seeker.resolve(&chunk, into: &persons)
            }
            chunk.removeAll(keepingCapacity: true)
        }
        var line = -1
        try batch.forEachSignal { signal in
            line += 1
            if let considering, !considering.contains(line) { return }
            chunk.append(KeyedID(key: signal.personKey, id: line))
            if chunk.count == chunkLines { try resolveChunk() }
        }
        try resolveChunk()
        return ConsentLookup(mark: mark, persons: persons)
    }

    /// Resolves a chunk through the partner's directory (see ``ConsentDirectories``); a line
    /// whose entry says so (a shared prefix, a consent expiring soon) is looked up in full by
    /// `seeker`.
    static func resolve(
        _ chunk: inout [KeyedID], through directory: ConsentDirectories.Directory, seeker: Seeker, into persons: inout [UInt32]
    ) throws {
        var unresolved: [KeyedID] = []
        for line in chunk {
            switch directory.match(line.key) {
            case .none: continue
            case .person(let person): persons[Int(line.id)] = person
            case .lookUpInFull: unresolved.append(line)
            }
        }
        if !unresolved.isEmpty { try seeker.resolve(&unresolved, into: &persons) }
    }

    /// Whether the lookup still holds in `db` (the writer's transaction): no ledger entry after
    /// its mark may have changed the consents of `partner` (a slug).
    func isCurrent(_ db: Database, partner: String) throws -> Bool {
        try !Self.consentsMayHaveChanged(db, partner: partner, after: mark)
    }

    /// Whether a ledger entry after sequence `mark`, up to `through`, may have changed the
    /// consents of `partner` (a slug): the one check of a lookup, and of a consent directory,
    /// made from an older read.
    static func consentsMayHaveChanged(_ db: Database, partner: String, after mark: Int64, through: Int64 = .max) throws -> Bool {
        let later = try Row.fetchAll(
            db, sql: "SELECT action, partner FROM ledger WHERE sequence > ? AND sequence <= ?", arguments: [mark, through])
        return later.contains { LedgerAction.mayChangeConsents(stored: $0[0], of: partner, entryPartner: $0[1]) }
    }

    /// A person key as four big-endian words, so that comparing the words compares the keys
    /// byte by byte (the order of the person-key index), with a 32-bit id: a line of the batch in
    /// a lookup's chunk, a person in a ``ConsentDirectories/Directory``.
    struct KeyedID: Sendable {
        var key: (UInt64, UInt64, UInt64, UInt64)
        var id: UInt32

        init(key bytes: UnsafeRawBufferPointer, id: Int) {
            func word(_ at: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
            key = (word(0), word(8), word(16), word(24))
            self.id = UInt32(id)
        }

        /// The key's 32 bytes, as stored.
        func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try withUnsafeBytes(of: (key.0.bigEndian, key.1.bigEndian, key.2.bigEndian, key.3.bigEndian), body)
        }
    }

    /// Finds a chunk's persons and their live consents on the lookup's connection, each way the
    /// cheaper of two: a seek per distinct key (about 1.3 us each here), or one walk in key
    /// order through the index range the chunk spans (about 0.14 us a row), which wins when the
    /// chunk names more than one in ``walkRatio`` of the rows it would walk. The same choice for
    /// consents, in the partner's consent range.
    struct Seeker {
        let db: Database
        let partnerID: Int64
        let now: Int64
        let walkRatio: Int64
        /// An upper bound on the rows of the person table and of one partner's consents.
        let tableRows: Int64

        /// A walk reads up to this many rows for each one it finds before seeks are cheaper.
        static let walkRatio: Int64 = 8

        init(_ db: Database, partnerID: Int64, now: Int64, walkRatio: Int64) throws {
            self.db = db
            self.partnerID = partnerID
            self.now = now
            self.walkRatio = walkRatio
            // The largest id bounds the rows, without counting them.
            tableRows = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM person") ?? 0
        }

        /// Sets `persons[line]` for every line of `chunk` whose person has live consent.
        func resolve(_ chunk: inout [KeyedID], into persons: inout [UInt32]) throws {
            guard !chunk.isEmpty else { return }
            KeyedID.sort(&chunk)
            // Each distinct key once, in key order, with its run of lines in `chunk`.
            var distinct: [Range<Int>] = []
            var index = 0
            while index < chunk.count {
                var end = index + 1
                while end < chunk.count && chunk[end].key == chunk[index].key { end += 1 }
                distinct.append(index..<end)
                index = end
            }
            var found = Int64(distinct.count) * walkRatio >= tableRows
                ? try walkPersons(chunk, distinct) : try seekPersons(chunk, distinct)
            found.sort { $0.person < $1.person }
            let live = Int64(found.count) * walkRatio >= tableRows ? try walkConsents(found) : try seekConsents(found)
            for (person, lines) in live {
                guard person > 0, person <= Int64(UInt32.max) else { throw StoreError.beyondColumnLimits }
                for entry in lines { persons[Int(chunk[entry].id)] = UInt32(person) }
            }
        }

        private func seekPersons(_ chunk: [KeyedID], _ distinct: [Range<Int>]) throws -> [(person: Int64, lines: Range<Int>)] {
            let find = try RawStatement(db, sql: "SELECT id FROM person WHERE key = ?1")
            var found: [(person: Int64, lines: Range<Int>)] = []
            for lines in distinct {
                let person = try chunk[lines.lowerBound].withKeyBytes { key in
                    find.reset()
                    find.bind(1, blob: key)
                    return try find.firstInt64()
                }
                if let person { found.append((person, lines)) }
            }
            return found
        }

        /// One pass through the person-key index from the chunk's first key to its last, merged
        /// with the chunk's keys.
        private func walkPersons(_ chunk: [KeyedID], _ distinct: [Range<Int>]) throws -> [(person: Int64, lines: Range<Int>)] {
            let walk = try RawStatement(db, sql: "SELECT key, id FROM person WHERE key BETWEEN ?1 AND ?2 ORDER BY key")
            var found: [(person: Int64, lines: Range<Int>)] = []
            var next = 0
            try chunk[distinct.first!.lowerBound].withKeyBytes { low in
                try chunk[distinct.last!.lowerBound].withKeyBytes { high in
                    walk.reset()
                    walk.bind(1, blob: low)
                    walk.bind(2, blob: high)
                    try walk.forEachRow { row in
                        guard let stored = row.blob(0), stored.count == PersonKey.byteCount else { return }
                        let key = KeyedID(key: stored, id: 0).key
                        while next < distinct.count && chunk[distinct[next].lowerBound].key < key { next += 1 }
                        if next < distinct.count && chunk[distinct[next].lowerBound].key == key {
                            found.append((row.int64(1), distinct[next]))
                            next += 1
                        }
                    }
                }
            }
            return found
        }

        private func seekConsents(_ found: [(person: Int64, lines: Range<Int>)]) throws -> [(person: Int64, lines: Range<Int>)] {
            let live = try RawStatement(
                db,
                sql: "SELECT 1 FROM consent c WHERE c.partner_id = ?1 AND c.person_id = ?2 AND \(LiveConsent.sql(alias: "c", now: "?3"))")
            return try found.filter { candidate in
                live.reset()
                live.bind(1, partnerID)
                live.bind(2, candidate.person)
                live.bind(3, now)
                return try live.firstInt64() != nil
            }
        }

        /// One pass through the partner's live consents from the first person found to the last
        /// (the consent key is partner, then person), merged with the persons found.
        private func walkConsents(_ found: [(person: Int64, lines: Range<Int>)]) throws -> [(person: Int64, lines: Range<Int>)] {
            guard let first = found.first, let last = found.last else { return [] }
            let walk = try RawStatement(
                db,
                sql: """
                    SELECT c.person_id FROM consent c WHERE c.partner_id = ?1 AND c.person_id BETWEEN ?2 AND ?3
                    AND \(LiveConsent.sql(alias: "c", now: "?4")) ORDER BY c.person_id
                    """)
            walk.reset()
            walk.bind(1, partnerID)
            walk.bind(2, first.person)
            walk.bind(3, last.person)
            walk.bind(4, now)
            var live: [(person: Int64, lines: Range<Int>)] = []
            var next = 0
            try walk.forEachRow { row in
                let person = row.int64(0)
                while next < found.count && found[next].person < person { next += 1 }
                if next < found.count && found[next].person == person {
                    live.append(found[next])
                    next += 1
                }
            }
            return live
        }
    }
}

extension ConsentLookup.KeyedID {
    /// Sorts by key: a counting sort on the key's top bits (keys are HMAC output, so evenly
    /// spread), then insertion inside each bucket, a handful of lines each. Linear, where a
    /// comparison sort of a chunk cost more than its seeks.
    static func sort(_ lines: inout [Self]) {
        guard lines.count > 1 else { return }
        let bits = min(16, max(1, Int.bitWidth - (lines.count - 1).leadingZeroBitCount))
        let shift = UInt64(64 - bits)
        var starts = [Int](repeating: 0, count: (1 << bits) + 1)
        for line in lines { starts[Int(line.key.0 >> shift) + 1] += 1 }
        for bucket in 1..<starts.count { starts[bucket] += starts[bucket - 1] }
        var sorted = lines
        var cursor = starts
        for line in lines {
            let bucket = Int(line.key.0 >> shift)
            sorted[cursor[bucket]] = line
            cursor[bucket] += 1
        }
        sorted.withUnsafeMutableBufferPointer { sorted in
            for bucket in 0..<(starts.count - 1) where starts[bucket + 1] - starts[bucket] > 1 {
                for index in (starts[bucket] + 1)..<starts[bucket + 1] {
                    let line = sorted[index]
                    var at = index
                    while at > starts[bucket] && line.key < sorted[at - 1].key {
                        sorted[at] = sorted[at - 1]
                        at -= 1
                    }
                    sorted[at] = line
                }
            }
        }
        lines = sorted
    }
}
