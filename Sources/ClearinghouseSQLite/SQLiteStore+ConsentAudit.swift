import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    public func consentAudit(asOf: Int64, partner: String?) async throws -> ConsentAuditReport {
        let pseudonymizer = self.pseudonymizer
        return try await writer.read { db in
            var partners = try Row.fetchAll(db, sql: "SELECT id, slug, status FROM partner ORDER BY slug")
            if let partner {
                partners = partners.filter { ($0[1] as String) == partner }
                guard !partners.isEmpty else { throw StoreError.partnerNotFound(partner) }
            }
            let notErased = try Self.revocationsNotErased(db, asOf: asOf, pseudonymizer: pseudonymizer)
            let outside = try SignalSpans.uncovered(db).mapValues(\.count)
            let affinity = Purpose.affinity.bit
            var audits: [PartnerConsentAudit] = []
            for row in partners {
                let id: Int64 = row[0]
                let consent = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT
                          SUM(CASE WHEN granted_at <= ?2 AND \(LiveConsent.sql(alias: "consent", now: "?2")) THEN 1 ELSE 0 END),
                          SUM(CASE WHEN expires_at IS NOT NULL AND expires_at <= ?2 THEN 1 ELSE 0 END),
                          SUM(CASE WHEN granted_at <= ?2 AND (expires_at IS NULL OR expires_at > ?2) AND proof IS NULL THEN 1 ELSE 0 END),
                          MIN(granted_at), MAX(granted_at)
                        FROM consent WHERE partner_id = ?1
                        """, arguments: [id, asOf])
                let signals = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*),
                          SUM(CASE WHEN c.person_id IS NULL OR (c.purposes & \(affinity)) = 0 THEN 1 ELSE 0 END),
                          SUM(CASE WHEN c.person_id IS NOT NULL AND c.expires_at IS NOT NULL AND c.expires_at <= ?2 THEN 1 ELSE 0 END)
                        FROM signal s LEFT JOIN consent c ON c.partner_id = s.partner_id AND c.person_id = s.person_id
                        WHERE s.partner_id = ?1
                        """, arguments: [id, asOf])
                let revocations = try Row.fetchOne(
                    db, sql: "SELECT COUNT(*), MIN(at), MAX(at) FROM revocation WHERE partner_id = ? AND at <= ?",
                    arguments: [id, asOf])
                audits.append(
                    PartnerConsentAudit(
                        partner: row[1], status: row[2],
                        liveByPurpose: [Purpose.affinity.rawValue: consent?[0] ?? 0],
                        expired: consent?[1] ?? 0,
                        revoked: revocations?[0] ?? 0, firstErasureAt: Self.time(revocations?[1]), lastErasureAt: Self.time(revocations?[2]),
                        liveWithoutProof: consent?[2] ?? 0, oldestGrant: Self.time(consent?[3]), newestGrant: Self.time(consent?[4]),
                        signals: signals?[0] ?? 0, signalsWithoutConsent: signals?[1] ?? 0, signalsAwaitingPurge: signals?[2] ?? 0,
                        revocationsNotErased: notErased.counts[id] ?? 0,
                        extraProblems: (notErased.verifiable
                            ? [] : ["revocations cannot be checked without the pepper (run on the daemon's host with its data directory)"])
                            + (outside[id].map {
                                ["\($0) signals lie outside this partner's spans, where erasure does not look (written by hand or by a version before 1.3); `clearinghouse purge` records spans for them"]
                            } ?? [])))
            }
            return ConsentAuditReport(asOf: RFC3339.format(milliseconds: asOf), partners: audits)
        }
    }

    /// Per partner, revoked persons (found by recomputing the pseudonym of every stored person
    /// key) who have consent or signals written before their revocation.
    private static func revocationsNotErased(
        _ db: Database, asOf: Int64, pseudonymizer: AuditPseudonymizer?
    ) throws -> (counts: [Int64: Int], verifiable: Bool) {
        var revoked: [Data: [(partner: Int64, batch: Int64)]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT partner_id, pseudonym, batch_id FROM revocation WHERE at <= ?", arguments: [asOf]) {
            revoked[row[1], default: []].append((row[0], row[2]))
        }
        guard !revoked.isEmpty else { return ([:], true) }
        guard let pseudonymizer else { return ([:], false) }
        // Each revocation of a stored person: (partner, person, the revoking batch).
        var checks: [(partner: Int64, person: Int64, batch: Int64)] = []
        let persons = try Row.fetchCursor(db, sql: "SELECT id, key FROM person")
        while let person = try persons.next() {
            let key: Data = person[1]
            guard let entries = revoked[Data(pseudonymizer.pseudonym(of: [UInt8](key)))] else { continue }
            for entry in entries { checks.append((entry.partner, person[0], entry.batch)) }
        }
        // A revocation is not erased when a consent or a signal written before it remains. The
        // signals are read in one pass over the whole table, not through the partners' spans:
        // the audit checks what erasure relies on instead of relying on it.
        var notErased = Set<Int>()
        for (index, check) in checks.enumerated() {
            let consents = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM consent WHERE partner_id = ? AND person_id = ? AND batch_id < ?",
                arguments: [check.partner, check.person, check.batch]) ?? 0
            if consents > 0 { notErased.insert(index) }
        }
        if !checks.isEmpty {
            let byPair = Dictionary(grouping: checks.indices, by: { UInt64(checks[$0].partner) << 32 | UInt64(checks[$0].person) })
            try RawStatement(db, sql: "SELECT partner_id, person_id, batch_id FROM signal").forEachRow { row in
                guard let indices = byPair[UInt64(row.int64(0)) << 32 | UInt64(row.int64(1))] else { return }
                for index in indices where row.int64(2) < checks[index].batch { notErased.insert(index) }
            }
        }
        var counts: [Int64: Int] = [:]
        for index in notErased { counts[checks[index].partner, default: 0] += 1 }
        return (counts, true)
    }
}

extension SQLiteStore {
    public func consentHistory(partner: String, personKey: [UInt8], at now: Int64) async throws -> ConsentHistory {
        guard let pseudonymizer else { throw StoreError.pepperMismatch }
        let pseudonym = Data(pseudonymizer.pseudonym(of: personKey))
        return try await writer.read { db in
            guard let partnerID = try Int64.fetchOne(db, sql: "SELECT id FROM partner WHERE slug = ?", arguments: [partner]) else {
                throw StoreError.partnerNotFound(partner)
            }
            let events = try Row.fetchAll(
                db,
                sql: """
                    SELECT event, at, purposes, granted_at, expires_at, proof FROM consent_event
                    WHERE partner_id = ? AND pseudonym = ? ORDER BY id
                    """, arguments: [partnerID, pseudonym]
            ).map { row in
                ConsentHistory.Event(
                    event: row[0], at: RFC3339.format(milliseconds: row[1]),
                    purposes: (row[2] as Int64?).map { Purpose.decode(mask: UInt32($0)).map(\.rawValue) },
                    grantedAt: Self.time(row[3]), expiresAt: Self.time(row[4]), proof: row[5])
            }
            let personID = try Int64.fetchOne(db, sql: "SELECT id FROM person WHERE key = ?", arguments: [Data(personKey)])
            var live = false
            var signals = 0
            var current: ConsentHistory.Event?
            if let personID,
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT c.purposes, c.granted_at, c.expires_at, c.proof, b.created_at FROM consent c
                        JOIN batch b ON b.id = c.batch_id WHERE c.partner_id = ? AND c.person_id = ?
                        """, arguments: [partnerID, personID])
            {
                current = ConsentHistory.Event(
                    event: "current", at: RFC3339.format(milliseconds: row[4]),
                    purposes: Purpose.decode(mask: UInt32(row[0] as Int64)).map(\.rawValue),
                    grantedAt: Self.time(row[1]), expiresAt: Self.time(row[2]), proof: row[3])
            }
            if let personID {
                live = try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM consent c WHERE c.partner_id = ?1 AND c.person_id = ?2
                          AND \(LiveConsent.sql(alias: "c", now: "?3")))
                        """, arguments: [partnerID, personID, now]) ?? false
                signals = try SignalSpans.count(db, partner: partnerID, person: personID)
            }
            return ConsentHistory(partner: partner, events: events, current: current, liveConsent: live, signals: signals)
        }
    }
}

extension SQLiteStore {
    /// An optional stored time (milliseconds) as RFC 3339.
    fileprivate static func time(_ value: Int64?) -> String? {
        value.map { RFC3339.format(milliseconds: $0) }
    }
}
