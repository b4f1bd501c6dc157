import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func spentRho(period: String) async throws -> Double {
        try await writer.read { db in try Self.spentRho(db, period: period) }
    }

    private static func spentRho(_ db: Database, period: String) throws -> Double {
        try Double.fetchOne(db, sql: "SELECT COALESCE(SUM(rho), 0) FROM release WHERE budget_period = ?", arguments: [period]) ?? 0
    }

    public func storeRelease(_ computed: NewRelease, budget: PrivacyBudget) async throws -> ReleaseRecord {
        let blob = Data(computed.table.encoded())
        let id: Int64 = try await writer.write { db in
            // SQLite's single writer makes these reads and the insert below one step for every
            // process: no other release can be stored in between.
            let spent = try Self.spentRho(db, period: computed.budgetPeriod)
            let release = computed.settled(
                spentRho: spent, pooledSinceWindowStart: try Self.pooledSince(db, computed.pooled?.windowStartMilliseconds),
                budget: budget)
            let json = try release.storedJSON()
            let epsilonLeft = try budget.admit(release, spentRho: spent)
            try db.execute(
                sql: """
                    INSERT INTO release (created_at, trigger, budget_period, rho, epsilon_left, settings, plan, summary, duration_ms, pairs,
                                         pooled)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    release.createdAt, release.trigger, release.budgetPeriod, release.chargedRho, epsilonLeft, json.settings,
                    json.plan, json.summary, release.durationMilliseconds, blob, json.pooled,
                ])
            let id = db.lastInsertedRowID
            try LedgerAppender.append(
                db, action: .releaseComputed, partner: nil, details: ReleaseLedgerDetails(releaseID: id, release: release),
                at: release.createdAt, signals: .unchanged, copy: signalCopy)
            return id
        }
        guard let record = try await self.release(id: id) else { throw StoreError.notMigrated }
        return record
    }

    /// Whether a stored release pooled outcomes after `start` (none asked: false).
    private static func pooledSince(_ db: Database, _ start: Int64?) throws -> Bool {
        guard let start else { return false }
        return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM release WHERE pooled IS NOT NULL AND created_at > ?", arguments: [start]) ?? 0 > 0
    }

    public func releases() async throws -> [ReleaseRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.releaseColumns) FROM release ORDER BY id DESC").map(Self.record)
        }
    }

    public func release(id: Int64?) async throws -> ReleaseRecord? {
        try await writer.read { db in
            let row: Row?
            if let id {
                row = try Row.fetchOne(db, sql: "SELECT \(Self.releaseColumns) FROM release WHERE id = ?", arguments: [id])
            } else {
                row = try Row.fetchOne(db, sql: "SELECT \(Self.releaseColumns) FROM release ORDER BY id DESC LIMIT 1")
            }
            return try row.map(Self.record)
        }
    }

    public func releasedTable(id: Int64) async throws -> ReleasedTable? {
        let blob = try await writer.read { db in
            try Data.fetchOne(db, sql: "SELECT pairs FROM release WHERE id = ?", arguments: [id])
        }
        guard let blob else { return nil }
        return try ReleasedTable(encoded: [UInt8](blob))
    }

    private static let releaseColumns =
        "id, created_at, trigger, budget_period, epsilon_left, settings, plan, summary, duration_ms, pooled"

    private static func record(_ row: Row) throws -> ReleaseRecord {
        try ReleaseRecord.decodeStored(
            id: row[0], createdAt: row[1], trigger: row[2], budgetPeriod: row[3], epsilonLeft: row[4], settings: row[5],
            plan: row[6], summary: row[7], durationMilliseconds: row[8], pooled: row[9])
    }
}
