import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseSQLite
import Crypto
import Foundation
import Logging

/// `clearinghouse storage copy`: moves a SQLite deployment into an empty PostgreSQL database in
/// one transaction, then checks the two hold the same: equal row counts per table, both ledgers
/// verifying to the same head hash, and equal exact release counts (memory engine on both,
/// database engine on the target). Run it with the daemon stopped, so nothing changes meanwhile.
public struct StorageCopier: Sendable {
    public struct Report: Sendable, Encodable {
        public var tables: [TableCount] = []
        public var ledgerHead: String = ""
        public var ledgerEntries: Int64 = 0
        public var releaseCountsDigest: String = ""
        public var problems: [String] = []

        public var ok: Bool { problems.isEmpty }

        enum CodingKeys: String, CodingKey {
            case tables, problems
            case ledgerHead = "ledger_head"
            case ledgerEntries = "ledger_entries"
            case releaseCountsDigest = "release_counts_sha256"
        }
    }

    public struct TableCount: Sendable, Encodable {
        public let table: String
        public let source: Int
        public let target: Int
    }

    let source: SQLiteStore
    let target: PostgresStore
    let bounds: ContributionBounds
    public static let chunkRows = 50_000

    public init(source: SQLiteStore, target: PostgresStore, bounds: ContributionBounds) {
        self.source = source
        self.target = target
        self.bounds = bounds
    }

    public func copy(at now: Int64) async throws -> Report {
        let source = self.source
        let cursor = CopyCursor()
        try await target.load { table in
            guard let rows = try await cursor.next(table, from: source) else { return nil }
            return rows
        }
        return try await verify(at: now)
    }

    /// The checks, also run on their own by `storage copy --verify-only`.
    public func verify(at now: Int64) async throws -> Report {
        var report = Report()
        for table in StorageCopyPlan.tables {
            let counts = TableCount(table: table.name, source: try await source.rowCount(table.name), target: try await target.rowCount(table.name))
            if counts.source != counts.target { report.problems.append("\(table.name): \(counts.source) rows in SQLite, \(counts.target) in PostgreSQL") }
            report.tables.append(counts)
        }
        let before = try await source.verifyLedger(receipts: [])
        let after = try await target.verifyLedger(receipts: [])
        if let finding = after.finding { report.problems.append("the copied ledger does not verify: \(finding)") }
        if before.headHash != after.headHash || before.headSequence != after.headSequence {
            report.problems.append("ledger heads differ: SQLite \(before.headSequence), PostgreSQL \(after.headSequence)")
        }
        report.ledgerHead = Hex.encode(after.headHash)
        report.ledgerEntries = after.headSequence
        let settings = PrivacySettings(bounds: bounds, differentialPrivacy: false)
        let budget = PrivacyBudget()
        let expected = try await ReleaseService(store: source, settings: settings, budget: budget).exactCounts(at: now).canonicalLines
        for engine in ReleaseEngine.allCases {
            let counted = try await ReleaseService(store: target, settings: settings, budget: budget, engine: engine).exactCounts(at: now)
            if counted.canonicalLines != expected { report.problems.append("release counts differ on PostgreSQL (\(engine) engine)") }
        }
        report.releaseCountsDigest = Hex.encode(Array(SHA256.hash(data: Array(expected.joined(separator: "\n").utf8))))
        return report
    }
}

/// Where the copy is in each table: the key of the last row read.
actor CopyCursor {
    private var position: [String: [CopyValue]] = [:]
    private var finished = Set<String>()

    func next(_ table: StorageCopyPlan.Table, from source: SQLiteStore) async throws -> [[CopyValue]]? {
        guard !finished.contains(table.name) else { return nil }
        let (rows, last) = try await source.copyRows(table, after: position[table.name], chunk: StorageCopier.chunkRows)
        if rows.count < StorageCopier.chunkRows { finished.insert(table.name) }
        position[table.name] = last
        return rows.isEmpty ? nil : rows
    }
}
