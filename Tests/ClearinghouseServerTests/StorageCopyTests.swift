import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseServer
import Foundation
import Testing

/// `clearinghouse storage copy`: a SQLite deployment moved into PostgreSQL, verified, and
/// served from there.
@Suite("Storage copy", .enabled(if: TestPostgresServer.location != nil, "needs the PostgreSQL server scripts/test starts"))
struct StorageCopyTests {
    @Test("copies everything into an empty database, verifies it, refuses a non-empty one; the daemon then runs on the copy")
    func copyToPostgres() async throws {
        let target = try await TestPostgresServer.createDatabase("copy")
        let url = "\(target)"
        let environment = [StorageSettings.passwordVariable: TestPostgresServer.password]
        try await TestDaemon.run(partners: ["acme", "globex", "initech"]) { client, daemon in
            try await ReleaseHTTPTests.upload(client, daemon)
            let read = APIKey.generate()
            try await daemon.runtime.store.addKey(
                partner: PartnerID("acme")!, key: read, role: .read, label: "Marketing", at: WallClock.nowMilliseconds())
            let service = ReleaseService(store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false), budget: PrivacyBudget())
            _ = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            // Outcomes, one of them corrected, so that both a live and a replaced report move.
            let acme = try #require(try await daemon.runtime.store.credential(keyID: read.keyID)).partner
            let end = WallClock.nowMilliseconds() - 86_400_000
            for (accepted, inBaseline) in [(Int64(3), true), (Int64(5), false)] {
                let line = OutcomeLine(
                    release: 1, kind: .cross, item: "tents", suggested: "globex:stoves", invited: 40, accepted: accepted,
                    periodStart: end - 7 * 86_400_000, periodEnd: end)
                _ = try await daemon.runtime.store.storeOutcomes(
                    OutcomeBatch(
                        records: [OutcomeRecord(partner: "acme", line: line, inBaseline: inBaseline, mode: .explore, recordedAt: end)],
                        bodyDigest: [UInt8](repeating: UInt8(accepted), count: 32), sentDigest: []),
                    partner: acme, idempotencyKey: nil, at: WallClock.nowMilliseconds())
            }
            let summaryBefore = try await daemon.admin(["outcomes", "summary", "--format", "json"])
            let before = try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds())
            let copy = try await ChildProcess.run(
                DaemonProcess.binary, ["storage", "copy", "--data-dir", daemon.directory, "--to", url, "--format", "json"],
                environment: environment)
            let output = String(decoding: copy.stdout, as: UTF8.self)
            #expect(copy.status == 0, "\(output)\(String(decoding: copy.stderr, as: UTF8.self))")
            let report = try #require(try JSONSerialization.jsonObject(with: copy.stdout) as? [String: Any])
            #expect((report["problems"] as? [Any])?.isEmpty == true)
            let tables = try #require(report["tables"] as? [[String: Any]])
            #expect(tables.count == StorageCopyPlan.tables.count)
            #expect(tables.allSatisfy { ($0["source"] as? NSNumber) == ($0["target"] as? NSNumber) })
            #expect(tables.first { $0["table"] as? String == "signal" }?["target"] as? NSNumber == 183, "92 + 62 + 30 uploaded, 1 erased by the revocation")
            #expect(!output.contains(Lines.token("shared-1")), "the report holds counts, never a token")

            // Again into the same database: refused, nothing changed.
            let again = try await ChildProcess.run(
                DaemonProcess.binary, ["storage", "copy", "--data-dir", daemon.directory, "--to", url], environment: environment)
            #expect(again.status != 0 && String(decoding: again.stderr, as: UTF8.self).contains("not empty"))

            // The admin CLI on the copy, with the same pepper: same counts, verifying ledger, and
            // a new write (ids continue past the copied ones).
            let stats = try await ChildProcess.run(
                DaemonProcess.binary, ["stats", "--format", "json", "--data-dir", daemon.directory, "--storage-url", url],
                environment: environment)
            let copied = try JSONDecoder().decode(ClearinghouseStats.self, from: stats.stdout)
            #expect(copied == before)
            let summary = try await ChildProcess.run(
                DaemonProcess.binary, ["outcomes", "summary", "--format", "json", "--data-dir", daemon.directory, "--storage-url", url],
                environment: environment)
            #expect(String(decoding: summary.stdout, as: UTF8.self) == summaryBefore.output, "outcomes, classifications and corrections move")
            #expect(summaryBefore.output.contains("\"invited\" : 40"))
            let verify = try await ChildProcess.run(
                DaemonProcess.binary, ["audit", "verify", "--data-dir", daemon.directory, "--storage-url", url],
                environment: environment)
            #expect(verify.status == 0, "\(String(decoding: verify.stdout, as: UTF8.self))")
            let added = try await ChildProcess.run(
                DaemonProcess.binary, ["partner", "add", "umbrella", "--name", "Umbrella", "--data-dir", daemon.directory, "--storage-url", url],
                environment: environment)
            #expect(added.status == 0, "\(String(decoding: added.stderr, as: UTF8.self))")
            // Keys keep their role and label: a read key on the copy is still read-only.
            let keys = try await ChildProcess.run(
                DaemonProcess.binary, ["partner", "keys", "acme", "--format", "json", "--data-dir", daemon.directory, "--storage-url", url],
                environment: environment)
            let listed = try JSONDecoder().decode([KeySummary].self, from: keys.stdout)
            let copiedKey = listed.first { $0.keyID == read.keyID }
            #expect(copiedKey?.role == .read && copiedKey?.label == "Marketing")
            #expect(listed.filter { $0.role == .upload }.count == 1)
        }
        try await TestPostgresServer.dropDatabase(target.database)
    }
}
