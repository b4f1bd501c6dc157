import ClearinghouseCore
import ClearinghouseSQLite
import ClearinghouseServer
import Foundation
import GRDB
import HummingbirdTesting
import Testing

@Suite("Consent audit, purge and records")
struct ConsentAuditTests {
    @Test("the audit passes on honest data and says FAIL when a non-consented signal is planted by hand")
    func plantedSignalFails() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload(
                "/v1/consents",
                Lines.body([Lines.consent("ann"), Lines.consent("ben", proof: nil), Lines.consent("cyd", expires: "2026-02-01T00:00:00Z")]),
                as: acme)
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("ann", "tents"), Lines.signal("ben", "tents")]), as: acme)
            _ = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("ben")]), as: acme)

            var report = try await daemon.runtime.store.consentAudit(asOf: WallClock.nowMilliseconds(), partner: "acme")
            let audit = try #require(report.partners.first)
            #expect(report.verdict == "PASS" && audit.verdict == "PASS")
            #expect(audit.liveByPurpose["affinity"] == 1 && audit.expired == 1 && audit.revoked == 1)
            #expect(audit.liveWithoutProof == 0 && audit.signals == 1 && audit.signalsWithoutConsent == 0)
            #expect(audit.oldestGrant == "2026-01-01T00:00:00.000Z" && audit.lastErasureAt != nil)

            // Plant, by hand, a signal for a person acme holds no consent for.
            let queue = try DatabaseQueue(path: daemon.settings.databasePath)
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO person (key) VALUES (randomblob(32))")
                try db.execute(
                    sql: """
                        INSERT INTO signal (partner_id, person_id, category_id, weight, observed_at, batch_id)
                        SELECT (SELECT id FROM partner WHERE slug = 'acme'), last_insert_rowid(), (SELECT MIN(id) FROM category), 1, 0, 1
                        """)
            }
            report = try await daemon.runtime.store.consentAudit(asOf: WallClock.nowMilliseconds(), partner: nil)
            #expect(report.verdict == "FAIL")
            let failing = try #require(report.partners.first { $0.partner == "acme" })
            #expect(failing.signalsWithoutConsent == 1 && failing.verdict == "FAIL")
            #expect(report.partners.first { $0.partner == "globex" }?.verdict == "PASS")

            let cli = try await DaemonProcess.admin(["consent", "audit", "--data-dir", daemon.directory])
            #expect(cli.status == 1)
            #expect(cli.output.contains("without consent 1 (must be 0)") && cli.output.contains("overall: FAIL"))
            let csv = try await DaemonProcess.admin(["consent", "audit", "--data-dir", daemon.directory, "--format", "csv"])
            #expect(csv.output.split(separator: "\n").count == 3)
            #expect(!cli.output.contains(Lines.token("ann")))
        }
    }

    @Test("a revoked person whose old signals come back is reported as not fully erased")
    func revocationNotErased() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!, globex = daemon.keys["globex"]!
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("dee")]), as: acme)
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("dee")]), as: globex)
            let signals = try await client.upload("/v1/signals", Lines.body([Lines.signal("dee", "tents")]), as: acme)
            _ = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("dee")]), as: acme)
            #expect(try await daemon.runtime.store.consentAudit(asOf: WallClock.nowMilliseconds(), partner: "acme").verdict == "PASS")
            // Another partner's upload first, so the row planted next lies outside every span of
            // acme's: the audit must find it without relying on the spans erasure reads.
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("dee", "hats")]), as: globex)
            // Restore the erased signal by hand, as a faulty restore from backup would.
            let batch = try #require(signals.int("batch_id"))
            let queue = try DatabaseQueue(path: daemon.settings.databasePath)
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO signal (partner_id, person_id, category_id, weight, observed_at, batch_id)
                        SELECT (SELECT id FROM partner WHERE slug = 'acme'), person_id, (SELECT MIN(id) FROM category), 1, 0, ?
                        FROM consent WHERE partner_id = (SELECT id FROM partner WHERE slug = 'globex')
                        """, arguments: [batch])
            }
            let audit = try #require(
                try await daemon.runtime.store.consentAudit(asOf: WallClock.nowMilliseconds(), partner: "acme").partners.first)
            #expect(audit.revocationsNotErased == 1 && audit.verdict == "FAIL")
            #expect(audit.problems.contains { $0.hasPrefix("1 signals lie outside this partner's spans") }, "\(audit.problems)")
        }
    }

    @Test("purge erases expired consents with their signals and old signals, with one ledger entry")
    func purge() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            let soon = RFC3339.format(milliseconds: WallClock.nowMilliseconds() + 600_000)
            _ = try await client.upload(
                "/v1/consents", Lines.body([Lines.consent("eve", expires: soon), Lines.consent("fay")]), as: acme)
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("eve", "tents"), Lines.signal("fay", "tents")]), as: acme)
            let ledgerBefore = try daemon.count("SELECT COUNT(*) FROM ledger")
            let later = WallClock.nowMilliseconds() + 3_600_000
            let nothing = try await daemon.runtime.store.purge(at: WallClock.nowMilliseconds(), signalsObservedBefore: 0)
            #expect(!nothing.erasedAnything && nothing.ledgerSequence == nil)
            let outcome = try await daemon.runtime.store.purge(at: later, signalsObservedBefore: 0)
            #expect(outcome.expiredConsents == 1 && outcome.signalsOfExpiredConsents == 1 && outcome.personsErased == 1)
            #expect(try daemon.count("SELECT COUNT(*) FROM ledger") == ledgerBefore + 1)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 1 && daemon.count("SELECT COUNT(*) FROM person") == 1)
            // Retention: signals observed before the cut-off go too.
            let old = try await daemon.runtime.store.purge(at: later, signalsObservedBefore: later)
            #expect(old.signalsPastRetention == 1)
            #expect(try await daemon.runtime.store.verifyLedger(receipts: []).finding == nil)
        }
    }

    @Test("consent lookup shows one person's history at one partner, after erasure too, and no one else")
    func lookup() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload(
                "/v1/consents", Lines.body([Lines.consent("gus", proof: "cmp-gus-1"), Lines.consent("hal", proof: "cmp-hal")]), as: acme)
            _ = try await client.upload(
                "/v1/consents", Lines.body([Lines.consent("gus", granted: "2026-03-01T00:00:00Z", proof: "cmp-gus-2")]), as: acme)
            _ = try await client.upload(
                "/v1/consents", Lines.body([Lines.consent("gus", granted: "2026-02-01T00:00:00Z", proof: "cmp-gus-late")]), as: acme)
            _ = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("gus")]), as: acme)
            let cli = try await DaemonProcess.admin([
                "consent", "lookup", "--partner", "acme", "--token", Lines.token("gus"), "--kid", "k1", "--data-dir", daemon.directory,
                "--format", "json",
            ])
            #expect(cli.status == 0)
            let history = try JSONDecoder().decode(ConsentHistory.self, from: Data(cli.output.utf8))
            // The first consent was replaced, a late older line superseded, the second revoked.
            #expect(history.events.map(\.event) == ["replaced", "superseded", "revoked"])
            #expect(history.events.compactMap(\.proof) == ["cmp-gus-1", "cmp-gus-late", "cmp-gus-2"])
            #expect(history.events.compactMap(\.grantedAt) == ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"])
            #expect(history.current == nil && !history.liveConsent && history.signals == 0)
            #expect(!cli.output.contains("cmp-hal") && !cli.output.contains(Lines.token("gus")))
            let other = try await DaemonProcess.admin([
                "consent", "lookup", "--partner", "globex", "--token", Lines.token("gus"), "--kid", "k1", "--data-dir", daemon.directory,
            ])
            #expect(other.status == 0 && other.output.contains("0 ended or superseded, none current"))
            let hal = try await DaemonProcess.admin([
                "consent", "lookup", "--partner", "acme", "--token", Lines.token("hal"), "--kid", "k1", "--data-dir", daemon.directory,
            ])
            #expect(hal.output.contains("current") && hal.output.contains("proof cmp-hal") && !hal.output.contains("cmp-gus"))
        }
    }

    @Test("records prints the Art. 30 record from the configuration and the partners")
    func records() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-records-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await DaemonProcess.admin(["partner", "add", "acme", "--name", "Acme Sports", "--data-dir", directory])
        let text = try await DaemonProcess.admin(["records", "--data-dir", directory])
        #expect(text.status == 0)
        #expect(text.output.contains("Acme Sports (acme, active)") && text.output.contains("k = 50"))
        #expect(text.output.contains("365 days"))
        let json = try await DaemonProcess.admin(["records", "--data-dir", directory, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["security_measures"] as? [String])?.isEmpty == false)
    }
}
