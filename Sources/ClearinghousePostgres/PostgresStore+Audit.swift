import ClearinghouseCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func stats(at now: Int64) async throws -> ClearinghouseStats {
        try await readSnapshot { connection in
            let live = LiveConsent.sql(alias: "c", now: "\(now)")
            var order: [Int64] = []
            var perPartner: [Int64: ClearinghouseStats.PartnerCounts] = [:]
            var slugs: [Int64: String] = [:]
            for try await (id, slug, status) in try await connection.query(
                "SELECT id, slug, status FROM partner ORDER BY slug", logger: logger
            ).decode((Int64, String, String).self) {
                order.append(id)
                slugs[id] = slug
                perPartner[id] = .init(id: slug, status: status, liveConsents: 0, expiredConsents: 0, signals: 0, categories: 0)
            }
            for try await (id, liveCount, other) in try await connection.query(
                """
                SELECT c.partner_id, COUNT(*) FILTER (WHERE \(unescaped: live)), COUNT(*) FILTER (WHERE NOT (\(unescaped: live)))
                FROM consent c GROUP BY c.partner_id
                """, logger: logger
            ).decode((Int64, Int64, Int64).self) {
                perPartner[id]?.liveConsents = Int(liveCount)
                perPartner[id]?.expiredConsents = Int(other)
            }
            for try await (id, signals, categories) in try await connection.query(
                "SELECT partner_id, COUNT(*), COUNT(DISTINCT category_id) FROM signal GROUP BY partner_id", logger: logger
            ).decode((Int64, Int64, Int64).self) {
                perPartner[id]?.signals = Int(signals)
                perPartner[id]?.categories = Int(categories)
            }
            let several = try await connection.query(
                """
                SELECT COUNT(*) FROM (SELECT c.person_id FROM consent c WHERE \(unescaped: live)
                GROUP BY c.person_id HAVING COUNT(*) >= 2) AS several
                """, logger: logger
            ).single(Int64.self)
            var overlaps: [ClearinghouseStats.PairOverlap] = []
            for try await (first, second, persons) in try await connection.query(
                """
                SELECT c.partner_id, d.partner_id, COUNT(*)
                FROM consent c JOIN consent d ON d.person_id = c.person_id AND d.partner_id > c.partner_id
                WHERE \(unescaped: live) AND \(unescaped: LiveConsent.sql(alias: "d", now: "\(now)"))
                GROUP BY c.partner_id, d.partner_id
                """, logger: logger
            ).decode((Int64, Int64, Int64).self) {
                overlaps.append(.init(partners: [slugs[first] ?? "?", slugs[second] ?? "?"].sorted(), persons: Int(persons)))
            }
            let counts = order.compactMap { perPartner[$0] }
            return ClearinghouseStats(
                partners: order.count,
                liveConsents: counts.reduce(0) { $0 + $1.liveConsents },
                signals: counts.reduce(0) { $0 + $1.signals },
                persons: Int(try await connection.query("SELECT COUNT(*) FROM person", logger: logger).single(Int64.self)),
                personsAtSeveralPartners: Int(several),
                perPartner: counts,
                overlaps: overlaps.sorted { $0.partners.lexicographicallyPrecedes($1.partners) })
        }
    }

    public func consentAudit(asOf: Int64, partner: String?) async throws -> ConsentAuditReport {
        let pseudonymizer = self.pseudonymizer
        return try await readSnapshot { connection in
            var partners: [(Int64, String, String)] = []
            for try await row in try await connection.query("SELECT id, slug, status FROM partner ORDER BY slug", logger: logger)
                .decode((Int64, String, String).self)
            {
                if partner == nil || row.1 == partner { partners.append(row) }
            }
            if let partner, partners.isEmpty { throw StoreError.partnerNotFound(partner) }
            let notErased = try await revocationsNotErased(connection, asOf: asOf, pseudonymizer: pseudonymizer)
            let affinity = Int64(Purpose.affinity.bit)
            let live = LiveConsent.sql(alias: "consent", now: "\(asOf)")
            var audits: [PartnerConsentAudit] = []
            for (id, slug, status) in partners {
                let consent = try await connection.query(
                    """
                    SELECT COUNT(*) FILTER (WHERE granted_at <= \(asOf) AND \(unescaped: live)),
                      COUNT(*) FILTER (WHERE expires_at IS NOT NULL AND expires_at <= \(asOf)),
                      COUNT(*) FILTER (WHERE granted_at <= \(asOf) AND (expires_at IS NULL OR expires_at > \(asOf)) AND proof IS NULL),
                      MIN(granted_at), MAX(granted_at)
                    FROM consent WHERE partner_id = \(id)
                    """, logger: logger
                ).row((Int64, Int64, Int64, Int64?, Int64?).self)
                let signals = try await connection.query(
                    """
                    SELECT COUNT(*),
                      COUNT(*) FILTER (WHERE c.person_id IS NULL OR (c.purposes & \(affinity)) = 0),
                      COUNT(*) FILTER (WHERE c.person_id IS NOT NULL AND c.expires_at IS NOT NULL AND c.expires_at <= \(asOf))
                    FROM signal s LEFT JOIN consent c ON c.partner_id = s.partner_id AND c.person_id = s.person_id
                    WHERE s.partner_id = \(id)
                    """, logger: logger
                ).row((Int64, Int64, Int64).self)
                let revocations = try await connection.query(
                    "SELECT COUNT(*), MIN(at), MAX(at) FROM revocation WHERE partner_id = \(id) AND at <= \(asOf)", logger: logger
                ).row((Int64, Int64?, Int64?).self)
                audits.append(
                    PartnerConsentAudit(
                        partner: slug, status: status,
                        liveByPurpose: [Purpose.affinity.rawValue: Int(consent.0)],
                        expired: Int(consent.1),
                        revoked: Int(revocations.0), firstErasureAt: Self.time(revocations.1), lastErasureAt: Self.time(revocations.2),
                        liveWithoutProof: Int(consent.2), oldestGrant: Self.time(consent.3), newestGrant: Self.time(consent.4),
                        signals: Int(signals.0), signalsWithoutConsent: Int(signals.1), signalsAwaitingPurge: Int(signals.2),
                        revocationsNotErased: notErased.counts[id] ?? 0,
                        extraProblems: notErased.verifiable
                            ? [] : ["revocations cannot be checked without the pepper (run on the daemon's host with its data directory)"]))
            }
            return ConsentAuditReport(asOf: RFC3339.format(milliseconds: asOf), partners: audits)
        }
    }

    /// Per partner, revoked persons (found by recomputing the pseudonym of every stored person
    /// key) who have consent or signals written before their revocation.
    private func revocationsNotErased(
        _ connection: PostgresConnection, asOf: Int64, pseudonymizer: AuditPseudonymizer?
    ) async throws -> (counts: [Int64: Int], verifiable: Bool) {
        var revoked: [[UInt8]: [(partner: Int64, batch: Int64)]] = [:]
        for try await (partner, pseudonym, batch) in try await connection.query(
            "SELECT partner_id, pseudonym, batch_id FROM revocation WHERE at <= \(asOf)", logger: logger
        ).decode((Int64, ByteBuffer, Int64).self) {
            revoked[pseudonym.bytes, default: []].append((partner, batch))
        }
        guard !revoked.isEmpty else { return ([:], true) }
        guard let pseudonymizer else { return ([:], false) }
        var found: [(person: Int64, partner: Int64, batch: Int64)] = []
        for try await (id, key) in try await connection.query("SELECT id, key FROM person", logger: logger)
            .decode((Int64, ByteBuffer).self)
        {
            guard let entries = revoked[pseudonymizer.pseudonym(of: key.bytes)] else { continue }
            found += entries.map { (id, $0.partner, $0.batch) }
        }
        var counts: [Int64: Int] = [:]
        for entry in found {
            let leftovers = try await connection.query(
                """
                SELECT (SELECT COUNT(*) FROM consent WHERE partner_id = \(entry.partner) AND person_id = \(entry.person) AND batch_id < \(entry.batch))
                     + (SELECT COUNT(*) FROM signal WHERE partner_id = \(entry.partner) AND person_id = \(entry.person) AND batch_id < \(entry.batch))
                """, logger: logger
            ).single(Int64.self)
            if leftovers > 0 { counts[entry.partner, default: 0] += 1 }
        }
        return (counts, true)
    }

    public func consentHistory(partner: String, personKey: [UInt8], at now: Int64) async throws -> ConsentHistory {
        guard let pseudonymizer else { throw StoreError.pepperMismatch }
        let pseudonym = pseudonymizer.pseudonym(of: personKey).buffer
        return try await readSnapshot { connection in
            guard let partnerID = try await connection.query("SELECT id FROM partner WHERE slug = \(partner)", logger: logger)
                .all(Int64.self).first
            else { throw StoreError.partnerNotFound(partner) }
            var events: [ConsentHistory.Event] = []
            for try await (event, at, purposes, granted, expires, proof) in try await connection.query(
                """
                SELECT event, at, purposes, granted_at, expires_at, proof FROM consent_event
                WHERE partner_id = \(partnerID) AND pseudonym = \(pseudonym) ORDER BY id
                """, logger: logger
            ).decode((String, Int64, Int64?, Int64?, Int64?, String?).self) {
                events.append(
                    ConsentHistory.Event(
                        event: event, at: RFC3339.format(milliseconds: at),
                        purposes: purposes.map { Purpose.decode(mask: UInt32($0)).map(\.rawValue) },
                        grantedAt: Self.time(granted), expiresAt: Self.time(expires), proof: proof))
            }
            let personID = try await connection.query("SELECT id FROM person WHERE key = \(personKey.buffer)", logger: logger)
                .all(Int64.self).first
            var current: ConsentHistory.Event?
            var live = false
            var signals = 0
            if let personID {
                for try await (purposes, granted, expires, proof, at) in try await connection.query(
                    """
                    SELECT c.purposes, c.granted_at, c.expires_at, c.proof, b.created_at FROM consent c
                    JOIN batch b ON b.id = c.batch_id WHERE c.partner_id = \(partnerID) AND c.person_id = \(personID)
                    """, logger: logger
                ).decode((Int64, Int64, Int64?, String?, Int64).self) {
                    current = ConsentHistory.Event(
                        event: "current", at: RFC3339.format(milliseconds: at),
                        purposes: Purpose.decode(mask: UInt32(purposes)).map(\.rawValue),
                        grantedAt: Self.time(granted), expiresAt: Self.time(expires), proof: proof)
                    live = LiveConsent.isLive(purposes: UInt32(purposes), expiresAt: expires, at: now)
                }
                signals = Int(
                    try await connection.query(
                        "SELECT COUNT(*) FROM signal WHERE partner_id = \(partnerID) AND person_id = \(personID)", logger: logger
                    ).single(Int64.self))
            }
            return ConsentHistory(partner: partner, events: events, current: current, liveConsent: live, signals: signals)
        }
    }

    public func purge(at now: Int64, signalsObservedBefore: Int64) async throws -> PurgeOutcome {
        let pseudonymizer = try writingPseudonymizer()
        let outcome = try await write { connection in
            var outcome = PurgeOutcome()
            // Each expired consent, locked, with its signals and, once unheld, the person key;
            // the history keeps that it expired, under the person's pseudonym.
            // Every partner with an expired consent: its erasure lock first, in partner order.
            for partner in try await connection.query(
                "SELECT DISTINCT partner_id FROM consent WHERE expires_at IS NOT NULL AND expires_at <= \(now) ORDER BY partner_id",
                logger: logger
            ).all(Int64.self) {
                try await PostgresErasure.lockPartner(connection, partner, exclusive: true, logger: logger)
            }
            var expired: [(partner: Int64, person: Int64, key: [UInt8], consent: StoredConsent)] = []
            for try await row in try await connection.query(
                """
                SELECT c.partner_id, c.person_id, p.key, c.purposes, c.granted_at, c.expires_at, c.proof, c.batch_id
                FROM consent c JOIN person p ON p.id = c.person_id
                WHERE c.expires_at IS NOT NULL AND c.expires_at <= \(now) ORDER BY c.person_id, c.partner_id FOR UPDATE OF c
                """, logger: logger
            ).decode((Int64, Int64, ByteBuffer, Int64, Int64, Int64?, String?, Int64).self) {
                expired.append(
                    (row.0, row.1, row.2.bytes,
                     StoredConsent(purposes: row.3, grantedAt: row.4, expiresAt: row.5, proof: row.6, batchID: row.7)))
            }
            var histories: [Int64: ConsentHistoryRows] = [:]
            var byPartner: [Int64: [Int64]] = [:]
            for entry in expired {
                histories[entry.partner, default: ConsentHistoryRows(partnerID: entry.partner, now: now)]
                    .add("expired", pseudonym: pseudonymizer.pseudonym(of: entry.key), consent: entry.consent)
                byPartner[entry.partner, default: []].append(entry.person)
            }
            for (partner, persons) in byPartner.sorted(by: { $0.key < $1.key }) {
                for chunk in persons.chunked(PostgresStore.chunkRows) {
                    outcome.expiredConsents += Int(
                        try await connection.query(
                            """
                            WITH gone AS (DELETE FROM consent WHERE partner_id = \(partner) AND person_id = ANY(\(chunk)) RETURNING 1)
                            SELECT COUNT(*) FROM gone
                            """, logger: logger
                        ).single(Int64.self))
                    outcome.signalsOfExpiredConsents += try await PostgresErasure.deleteSignals(
                        connection, partner: partner, persons: chunk, logger: logger)
                }
            }
            for chunk in Array(Set(expired.map(\.person))).sorted().chunked(PostgresStore.chunkRows) {
                outcome.personsErased += try await PostgresErasure.deleteUnheldPersons(connection, persons: chunk, logger: logger)
            }
            for history in histories.values { try await history.write(connection, logger: logger) }
            outcome.signalsPastRetention = Int(
                try await connection.query(
                    """
                    WITH gone AS (DELETE FROM signal WHERE observed_at < \(signalsObservedBefore) RETURNING 1)
                    SELECT COUNT(*) FROM gone
                    """, logger: logger
                ).single(Int64.self))
            if outcome.erasedAnything {
                let entry = try await PostgresLedger.append(
                    connection, action: .purge, partner: nil, details: outcome, at: now, logger: logger)
                outcome.ledgerSequence = entry.sequence
            }
            return outcome
        }
        if outcome.erasedAnything { await vacuumErasedTables() }
        logger.info(
            "purge done",
            metadata: [
                "purge.expired_consents": "\(outcome.expiredConsents)",
                "purge.signals_erased": "\(outcome.signalsOfExpiredConsents + outcome.signalsPastRetention)",
                "purge.persons_erased": "\(outcome.personsErased)",
            ])
        return outcome
    }

    /// VACUUM of the tables erasures touch, after a purge: it turns the erased rows' dead tuples
    /// into free space, which PostgreSQL then overwrites (SECURITY.md, "Erasure on each
    /// backend"). Best effort: autovacuum does the same later if this cannot run now.
    func vacuumErasedTables() async {
        do {
            _ = try await leasing { connection in
                // VACUUM runs outside a transaction: one statement on an idle connection.
                try await connection.query("VACUUM (ANALYZE) consent, signal, person, consent_event", logger: logger)
                return true
            }
        } catch {
            logger.warning("VACUUM after purge did not run; autovacuum will", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    /// An optional stored time (milliseconds) as RFC 3339.
    fileprivate static func time(_ value: Int64?) -> String? {
        value.map { RFC3339.format(milliseconds: $0) }
    }
}
