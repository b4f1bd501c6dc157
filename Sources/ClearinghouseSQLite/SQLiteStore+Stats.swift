import ClearinghouseCore
import GRDB

extension SQLiteStore {
    public func stats(at now: Int64) async throws -> ClearinghouseStats {
        try await writer.read { db in
            let live = LiveConsent.sql(alias: "c", now: "\(now)")
            let partners = try Row.fetchAll(db, sql: "SELECT id, slug, status FROM partner ORDER BY slug")
            var perPartner: [Int64: ClearinghouseStats.PartnerCounts] = [:]
            var slugs: [Int64: String] = [:]
            for row in partners {
                let id: Int64 = row[0]
                slugs[id] = row[1]
                perPartner[id] = .init(id: row[1], status: row[2], liveConsents: 0, expiredConsents: 0, signals: 0, categories: 0)
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT c.partner_id, SUM(CASE WHEN \(live) THEN 1 ELSE 0 END), SUM(CASE WHEN \(live) THEN 0 ELSE 1 END)
                    FROM consent c GROUP BY c.partner_id
                    """)
            {
                perPartner[row[0]]?.liveConsents = row[1]
                perPartner[row[0]]?.expiredConsents = row[2]
            }
            // Categories that hold stored signals now (the catalogue also remembers names whose
            // signals were dropped or erased; those are not counted).
            for row in try Row.fetchAll(
                db, sql: "SELECT partner_id, COUNT(*), COUNT(DISTINCT category_id) FROM signal GROUP BY partner_id")
            {
                perPartner[row[0]]?.signals = row[1]
                perPartner[row[0]]?.categories = row[2]
            }
            let several = try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM (
                        SELECT c.person_id FROM consent c WHERE \(live) GROUP BY c.person_id HAVING COUNT(*) >= 2)
                    """) ?? 0
            let overlaps = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.partner_id, d.partner_id, COUNT(*)
                    FROM consent c JOIN consent d ON d.person_id = c.person_id AND d.partner_id > c.partner_id
                    WHERE \(live) AND \(LiveConsent.sql(alias: "d", now: "\(now)"))
                    GROUP BY c.partner_id, d.partner_id
                    """
            ).map { row in
                ClearinghouseStats.PairOverlap(
                    partners: [slugs[row[0]] ?? "?", slugs[row[1]] ?? "?"].sorted(), persons: row[2])
            }
            let counts = partners.compactMap { perPartner[$0[0]] }
            return ClearinghouseStats(
                partners: partners.count,
                liveConsents: counts.reduce(0) { $0 + $1.liveConsents },
                signals: counts.reduce(0) { $0 + $1.signals },
                persons: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") ?? 0,
                personsAtSeveralPartners: several,
                perPartner: counts,
                overlaps: overlaps.sorted { $0.partners.lexicographicallyPrecedes($1.partners) })
        }
    }
}
