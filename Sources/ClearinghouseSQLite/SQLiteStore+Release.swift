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

    public func storeRelease(_ release: NewRelease, budget: PrivacyBudget) async throws -> ReleaseRecord {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let settings = String(decoding: try encoder.encode(release.settings), as: UTF8.self)
        let plan = String(decoding: try encoder.encode(release.plan), as: UTF8.self)
        let summary = String(decoding: try encoder.encode(release.summary), as: UTF8.self)
        let blob = Data(release.table.encoded())
        let id: Int64 = try await writer.write { db in
            var epsilonLeft: Double?
            if release.settings.differentialPrivacy {
                let spent = try Self.spentRho(db, period: release.budgetPeriod)
                guard budget.allows(cost: release.plan.rho, spent: spent) else {
                    throw ReleaseError.budgetExhausted(
                        period: release.budgetPeriod, epsilonLeft: budget.epsilonLeft(spentRho: spent),
                        epsilonNeeded: release.settings.epsilon)
                }
                epsilonLeft = budget.epsilonLeft(spentRho: spent + release.plan.rho)
            }
            try db.execute(
                sql: """
                    INSERT INTO release (created_at, trigger, budget_period, rho, epsilon_left, settings, plan, summary, duration_ms, pairs)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    release.createdAt, release.trigger, release.budgetPeriod,
                    release.settings.differentialPrivacy ? release.plan.rho : 0, epsilonLeft, settings, plan, summary,
                    release.durationMilliseconds, blob,
                ])
            let id = db.lastInsertedRowID
            try LedgerAppender.append(
                db, action: .releaseComputed, partner: nil,
                details: ReleaseLedgerDetails(
                    releaseID: id, trigger: release.trigger, differentialPrivacy: release.settings.differentialPrivacy,
                    epsilon: release.settings.differentialPrivacy ? release.settings.epsilon : nil,
                    rho: release.plan.rho, k: release.settings.k, pairsReleased: release.summary.pairsReleased,
                    budgetPeriod: release.budgetPeriod),
                at: release.createdAt)
            return id
        }
        guard let record = try await self.release(id: id) else { throw StoreError.notMigrated }
        return record
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
        "id, created_at, trigger, budget_period, epsilon_left, settings, plan, summary, duration_ms"

    private static func record(_ row: Row) throws -> ReleaseRecord {
        let decoder = JSONDecoder()
        return ReleaseRecord(
            id: row[0], createdAt: RFC3339.format(milliseconds: row[1]), trigger: row[2],
            settings: try decoder.decode(PrivacySettings.self, from: Data((row[5] as String).utf8)),
            plan: try decoder.decode(NoisePlan.self, from: Data((row[6] as String).utf8)),
            summary: try decoder.decode(ReleaseSummary.self, from: Data((row[7] as String).utf8)),
            budgetPeriod: row[3], epsilonLeft: row[4], durationMilliseconds: row[8])
    }
}

/// What the ledger records of a release: its parameters and size, never a count.
struct ReleaseLedgerDetails: Encodable {
    let releaseID: Int64
    let trigger: String
    let differentialPrivacy: Bool
    let epsilon: Double?
    let rho: Double
    let k: Int
    let pairsReleased: Int
    let budgetPeriod: String

    enum CodingKeys: String, CodingKey {
        case trigger, epsilon, rho, k
        case releaseID = "release_id"
        case differentialPrivacy = "differential_privacy"
        case pairsReleased = "pairs_released"
        case budgetPeriod = "budget_period"
    }
}
