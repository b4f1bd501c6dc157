import ClearinghouseCore
import PostgresNIO

extension PostgresStore {
    /// The exact counts in SQL, with the same contribution bounds and tie-breaks as the
    /// in-memory engine (`PersonScratch`): a person's weights are summed per item; at each
    /// partner the top `itemsPerPartner` items by weight (then lower category id, which is the
    /// lower item) are kept; the top `partnersPerPerson` partners by total weight (then lower
    /// partner id) are kept for the cross-brand cells. Only counts come back, never a row.
    ///
    /// Every join and window is keyed on `person_id`, the column Citus distributes `signal`
    /// and `consent` by (docs/scale-out.md). On Citus the steps are written `NOT MATERIALIZED`:
    /// Citus inlines only such CTEs, so each worker counts its own persons and the coordinator
    /// only adds up per-cell counts; on one PostgreSQL server materialized steps are about five
    /// times faster, so that is the form used there.
    public func databaseCounts(at now: Int64, bounds: ContributionBounds) async throws -> ExactCounts? {
        let onCitus = try await fetch("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").single(Bool.self)
        return try await databaseCounts(at: now, bounds: bounds, inlineSteps: onCitus)
    }

    /// The counts with the steps inlined (`NOT MATERIALIZED`, the Citus form) or materialized.
    public func databaseCounts(at now: Int64, bounds: ContributionBounds, inlineSteps: Bool) async throws -> ExactCounts {
        try await readSnapshot { connection in
            let plan = try await PostgresReleasePlan.make(connection, now: now, parts: 1, logger: logger)
            let partnerIndex = plan.map.partnerIndex
            var counts = AffinityCounts(catalog: plan.catalog)
            var persons = 0
            var several = 0
            var signals = 0
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: PostgresCountingSQL.query(now: now, bounds: bounds, inlineSteps: inlineSteps)), logger: logger)
            for try await (kind, first, second, count) in rows.decode((String, Int64, Int64, Int64).self) {
                func item(_ category: Int64) -> Int { Int(plan.map.item(ofCategory: category)) }
                switch kind {
                case "persons": persons = Int(count)
                case "several": several = Int(count)
                case "signals": signals = Int(count)
                case "own_persons": counts.addOwnPersons(partner: partnerIndex[first]!, count)
                case "own_item": counts.addOwnItemPersons(item: item(first), count)
                case "own_pair", "pair": counts.addPair(item(first), item(second), count)
                case "overlap": counts.addOverlap(partnerIndex[first]!, partnerIndex[second]!, count)
                case "item_within": counts.addItemWithin(item: item(first), partner: partnerIndex[second]!, count)
                default: continue
                }
            }
            counts.setPersons(persons, atSeveralPartners: several)
            return ExactCounts(catalog: plan.catalog, counts: counts, signals: signals)
        }
    }
}

/// The counting query of the database engine; `docs/scale-out.md` shows its plan.
public enum PostgresCountingSQL {
    /// One statement, every cell kind a row of (kind, first, second, count). `now` and the
    /// bounds are integers written into the text (no user input reaches it). `inlineSteps`
    /// marks every step `NOT MATERIALIZED` (the form Citus pushes down to its workers).
    public static func query(now: Int64, bounds: ContributionBounds, inlineSteps: Bool = false) -> String {
        let items = bounds.itemsPerPartner
        let partners = bounds.partnersPerPerson
        let text = """
            WITH live AS (
                SELECT s.person_id, s.partner_id, s.category_id, s.weight FROM signal s
                WHERE NOT EXISTS (
                    SELECT 1 FROM consent c WHERE c.person_id = s.person_id AND c.partner_id = s.partner_id
                    AND c.expires_at IS NOT NULL AND c.expires_at <= \(now))
            ),
            person_item AS (
                SELECT person_id, partner_id, category_id AS item, SUM(weight) AS weight
                FROM live GROUP BY person_id, partner_id, category_id
            ),
            ranked AS (
                SELECT person_id, partner_id, item,
                    ROW_NUMBER() OVER (PARTITION BY person_id, partner_id ORDER BY weight DESC, item) AS item_rank
                FROM person_item
            ),
            person_partner AS (
                SELECT person_id, partner_id, SUM(weight) AS total FROM person_item GROUP BY person_id, partner_id
            ),
            partner_rank AS (
                SELECT person_id, partner_id,
                    ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY total DESC, partner_id) AS rank,
                    COUNT(*) OVER (PARTITION BY person_id) AS partners
                FROM person_partner
            ),
            own AS (
                SELECT person_id, partner_id, item FROM ranked WHERE item_rank <= \(items)
            ),
            kept_partner AS (
                SELECT person_id, partner_id FROM partner_rank WHERE rank <= \(partners) AND partners >= 2
            ),
            kept AS (
                SELECT o.person_id, o.partner_id, o.item FROM own o JOIN kept_partner k USING (person_id, partner_id)
            )
            SELECT 'signals'::text, 0::bigint, 0::bigint, COUNT(*)::bigint FROM live
            UNION ALL SELECT 'persons', 0, 0, COUNT(DISTINCT person_id) FROM person_partner
            UNION ALL SELECT 'several', 0, 0, COUNT(*) FROM partner_rank WHERE rank = 1 AND partners >= 2
            UNION ALL SELECT 'own_persons', partner_id, 0, COUNT(*) FROM person_partner GROUP BY partner_id
            UNION ALL SELECT 'own_item', item, 0, COUNT(*) FROM own GROUP BY item
            UNION ALL SELECT 'own_pair', a.item, b.item, COUNT(*) FROM own a
                JOIN own b ON b.person_id = a.person_id AND b.partner_id = a.partner_id AND b.item > a.item
                GROUP BY a.item, b.item
            UNION ALL SELECT 'overlap', a.partner_id, b.partner_id, COUNT(*) FROM kept_partner a
                JOIN kept_partner b ON b.person_id = a.person_id AND b.partner_id > a.partner_id
                GROUP BY a.partner_id, b.partner_id
            UNION ALL SELECT 'item_within', k.item, p.partner_id, COUNT(*) FROM kept k
                JOIN kept_partner p ON p.person_id = k.person_id AND p.partner_id <> k.partner_id
                GROUP BY k.item, p.partner_id
            UNION ALL SELECT 'pair', a.item, b.item, COUNT(*) FROM kept a
                JOIN kept b ON b.person_id = a.person_id AND b.partner_id > a.partner_id
                GROUP BY a.item, b.item
            """
        return inlineSteps ? text.replacingOccurrences(of: " AS (\n", with: " AS NOT MATERIALIZED (\n") : text
    }
}
