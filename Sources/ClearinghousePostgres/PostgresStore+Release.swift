import ClearinghouseCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func spentRho(period: String) async throws -> Double {
        try await fetch("SELECT COALESCE(SUM(rho), 0)::float8 FROM release WHERE budget_period = \(period)").single(Double.self)
    }

    public func storeRelease(_ computed: NewRelease, budget: PrivacyBudget) async throws -> ReleaseRecord {
        let blob = computed.table.encoded().buffer
        let id = try await write { connection in
            // The ledger lock first: releases (in any daemon) store one at a time, each
            // reading what the ones before spent and whether one of them pooled since this
            // release's window began.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.ledgerLock))", logger: logger)
            let spent = try await connection.query(
                "SELECT COALESCE(SUM(rho), 0)::float8 FROM release WHERE budget_period = \(computed.budgetPeriod)", logger: logger
            ).single(Double.self)
            var pooledSince = false
            if let start = computed.pooled?.windowStartMilliseconds {
                pooledSince = try await connection.query(
                    "SELECT COUNT(*) FROM release WHERE pooled IS NOT NULL AND created_at > \(start)", logger: logger
                ).single(Int64.self) > 0
            }
            let release = computed.settled(spentRho: spent, pooledSinceWindowStart: pooledSince, budget: budget)
            let json = try release.storedJSON()
            let epsilonLeft = try budget.admit(release, spentRho: spent)
            let id = try await connection.query(
                """
                INSERT INTO release (created_at, trigger, budget_period, rho, epsilon_left, settings, plan, summary, duration_ms, pairs,
                                     pooled)
                VALUES (\(release.createdAt), \(release.trigger), \(release.budgetPeriod), \(release.chargedRho), \(epsilonLeft),
                        \(json.settings), \(json.plan), \(json.summary), \(release.durationMilliseconds), \(blob), \(json.pooled))
                RETURNING id
                """, logger: logger
            ).single(Int64.self)
            try await PostgresLedger.append(
                connection, action: .releaseComputed, partner: nil, details: ReleaseLedgerDetails(releaseID: id, release: release),
                at: release.createdAt, logger: logger)
            return id
        }
        guard let record = try await self.release(id: id) else { throw StoreError.notMigrated }
        return record
    }

    public func releases() async throws -> [ReleaseRecord] {
        try records(try await fetch("SELECT \(unescaped: Self.releaseColumns) FROM release ORDER BY id DESC"))
    }

    public func release(id: Int64?) async throws -> ReleaseRecord? {
        if let id {
            return try records(try await fetch("SELECT \(unescaped: Self.releaseColumns) FROM release WHERE id = \(id)")).first
        }
        return try records(try await fetch("SELECT \(unescaped: Self.releaseColumns) FROM release ORDER BY id DESC LIMIT 1")).first
    }

    public func releasedTable(id: Int64) async throws -> ReleasedTable? {
        let blobs = try await fetch("SELECT pairs FROM release WHERE id = \(id)").all(ByteBuffer.self)
        guard let blob = blobs.first else { return nil }
        return try ReleasedTable(encoded: blob.bytes)
    }

    private static let releaseColumns =
        "id, created_at, trigger, budget_period, epsilon_left, settings, plan, summary, duration_ms, pooled"

    private func records(_ rows: [PostgresRow]) throws -> [ReleaseRecord] {
        try rows.all((Int64, Int64, String, String, Double?, String, String, String, Int64, String?).self).map { row in
            try ReleaseRecord.decodeStored(
                id: row.0, createdAt: row.1, trigger: row.2, budgetPeriod: row.3, epsilonLeft: row.4, settings: row.5,
                plan: row.6, summary: row.7, durationMilliseconds: row.8, pooled: row.9)
        }
    }
}

extension PostgresStore {
    /// Reads every signal under live consent, grouped by person, from one REPEATABLE READ
    /// snapshot, in person order through the covering index, into the same in-memory counting
    /// engine as SQLite. With `concurrency` > 1 the snapshot is exported
    /// (`pg_export_snapshot`) and twice that many connections import it and read the person
    /// ranges in turn, each range into its own sink: several readers, one consistent view. Two
    /// readers a worker because the server does most of the work: while one reader counts its
    /// answer, another's query keeps the core busy (measured at 10 M signals: 1.72-1.75 s,
    /// against 1.88-1.95 s with one reader a worker). One sink per reader: a reader takes range
    /// after range into the same sink, so memory grows with readers, never with ranges.
    public func readReleaseSignals<Sink: PersonSignalSink & Sendable>(
        at now: Int64, parts: Int, concurrency: Int, makeSink: @escaping @Sendable (ReleaseCatalog) -> Sink
    ) async throws -> (catalog: ReleaseCatalog, sinks: [Sink]) {
        try await readSnapshot { connection in
            let plan = try await PostgresReleasePlan.make(connection, now: now, parts: parts, logger: logger)
            let readers = max(1, min(max(1, concurrency) * 2, plan.ranges.count))
            let sinks = (0..<readers).map { _ in makeSink(plan.catalog) }
            if readers == 1 {
                for range in plan.ranges {
                    try await plan.scan(connection, persons: range, into: sinks[0], logger: logger)
                }
                return (plan.catalog, sinks)
            }
            let snapshot = try await connection.query("SELECT pg_export_snapshot()", logger: logger).single(String.self)
            guard snapshot.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { throw StoreError.notMigrated }
            let work = RangeQueue(plan.ranges)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sink in sinks {
                    group.addTask {
                        _ = try await leasing { reader in
                            try await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                            do {
                                try await reader.query(PostgresQuery(unsafeSQL: "SET TRANSACTION SNAPSHOT '\(snapshot)'"), logger: logger)
                                while let range = await work.next() {
                                    try await plan.scan(reader, persons: range, into: sink, logger: logger)
                                }
                                try await reader.query("COMMIT", logger: logger)
                            } catch {
                                _ = try? await reader.query("ROLLBACK", logger: logger)
                                throw error
                            }
                            return true
                        }
                    }
                }
                try await group.waitForAll()
            }
            return (plan.catalog, sinks)
        }
    }
}

/// The person ranges of a release not yet taken by a reader.
actor RangeQueue {
    private var pending: [Range<Int64>]

    init(_ work: [Range<Int64>]) {
        pending = work.reversed()
    }

    func next() -> Range<Int64>? { pending.popLast() }
}

/// What a release scan needs before reading signals, as on SQLite: the catalog, how categories
/// map to items and partners, the consents that have expired, and the person ranges.
struct PostgresReleasePlan: Sendable {
    /// The catalog and how category ids map to items and partners.
    let map: CategoryMap
    let expired: Set<PairKey>
    let ranges: [Range<Int64>]
    /// Whether every person and category id fits the packed layout (``PackedSignals``).
    let packs: Bool

    var catalog: ReleaseCatalog { map.catalog }

    struct PairKey: Hashable, Sendable {
        let partner: Int64
        let person: Int64
    }

    static func make(_ connection: PostgresConnection, now: Int64, parts: Int, logger: Logger) async throws -> PostgresReleasePlan {
        var partners: [(id: Int64, slug: String)] = []
        for try await (id, slug) in try await connection.query("SELECT id, slug FROM partner ORDER BY id", logger: logger)
            .decode((Int64, String).self)
        {
            partners.append((id, slug))
        }
        var categories: [(id: Int64, partner: Int64, name: String)] = []
        for try await (id, partner, name) in try await connection.query(
            "SELECT id, partner_id, name FROM category ORDER BY partner_id, id", logger: logger
        ).decode((Int64, Int64, String).self) {
            categories.append((id, partner, name))
        }
        let map = CategoryMap(partners: partners, categories: categories)
        // Signals exist only under consent; consent that has expired since is the case left.
        var expired = Set<PairKey>()
        for try await (partner, person) in try await connection.query(
            "SELECT partner_id, person_id FROM consent WHERE expires_at <= \(now)", logger: logger
        ).decode((Int64, Int64).self) {
            expired.insert(PairKey(partner: partner, person: person))
        }
        let (low, high) = try await connection.query(
            "SELECT COALESCE(MIN(person_id), 0), COALESCE(MAX(person_id), -1) + 1 FROM signal", logger: logger
        ).row((Int64, Int64).self)
        return PostgresReleasePlan(
            map: map, expired: expired, ranges: CategoryMap.personRanges(low: low, high: high, parts: parts),
            packs: PackedSignals.fits(highestPerson: high - 1, highestCategory: Int64(map.itemOfCategory.count) - 1))
    }

    /// Streams the persons of `persons` into `sink`, each person's signals at once: packed many
    /// persons to a row (``PackedSignals``) when the ids fit, else a row per person.
    func scan(_ connection: PostgresConnection, persons: Range<Int64>, into sink: some PersonSignalSink, logger: Logger) async throws {
        if packs {
            try await PackedSignals(plan: self).scan(connection, persons: persons, into: sink, logger: logger)
        } else {
            try await scanPerPerson(connection, persons: persons, into: sink, logger: logger)
        }
    }

    /// Streams the persons of `persons` in person order, one person at a time, into `sink`.
    ///
    /// The server packs each person's signals into one `bytea` of (category int8, weight float8)
    /// pairs in network order, grouped straight off the covering index: a row per person
    /// instead of per signal, and no per-value decoding on this side (measured: 2.5x faster
    /// than one row per signal through postgres-nio's decoder).
    func scanPerPerson(
        _ connection: PostgresConnection, persons: Range<Int64>, into sink: some PersonSignalSink, logger: Logger
    ) async throws {
        let rows = try await connection.query(
            """
            SELECT person_id, string_agg(int8send(category_id) || float8send(weight), ''::bytea) FROM signal
            WHERE person_id >= \(persons.lowerBound) AND person_id < \(persons.upperBound)
            GROUP BY person_id ORDER BY person_id
            """, logger: logger)
        var items: [Int32] = []
        var weights: [Double] = []
        items.reserveCapacity(256)
        weights.reserveCapacity(256)
        for try await row in rows {
            var cells = row.makeIterator()
            guard var personBytes = cells.next()?.bytes, let person = personBytes.readInteger(as: Int64.self),
                let packed = cells.next()?.bytes
            else { continue }
            items.removeAll(keepingCapacity: true)
            weights.removeAll(keepingCapacity: true)
            packed.withUnsafeReadableBytes { raw in
                var offset = 0
                while offset + 16 <= raw.count {
                    let category = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                    let weight = Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
                    offset += 16
                    let item = map.item(ofCategory: category)
                    guard item >= 0 else { continue }
                    if !expired.isEmpty, expired.contains(PairKey(partner: map.partnerOfCategory[Int(category)], person: person)) {
                        continue
                    }
                    items.append(item)
                    weights.append(weight)
                }
            }
            guard !items.isEmpty else { continue }
            items.withUnsafeBufferPointer { itemBuffer in
                weights.withUnsafeBufferPointer { weightBuffer in sink.addPerson(items: itemBuffer, weights: weightBuffer) }
            }
        }
    }
}
