import ClearinghouseCore
import ClearinghouseSQLite
import ClearinghouseServer
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@Suite("Releases end to end")
struct ReleaseHTTPTests {
    /// 3 partners: acme and globex share 60 customers (tents -> espresso planted for 40 of them),
    /// initech shares 30 with acme; one revoked and one expired consent must not count.
    static func upload(_ client: any TestClientProtocol, _ daemon: TestDaemon) async throws {
        let acme = daemon.keys["acme"]!, globex = daemon.keys["globex"]!, initech = daemon.keys["initech"]!
        let shared = (0..<60).map { "shared-\($0)" }
        let third = (0..<30).map { "third-\($0)" }
        // Live while uploaded, expired by the time of the release (computed an hour ahead).
        let soon = RFC3339.format(milliseconds: WallClock.nowMilliseconds() + 600_000)
        var acmeConsents = (shared + third).map { Lines.consent($0) }
        acmeConsents.append(Lines.consent("expiring", expires: soon))
        acmeConsents.append(Lines.consent("revoked"))
        #expect(try await client.upload("/v1/consents", Lines.body(acmeConsents), as: acme).status == .ok)
        let globexConsents = (shared + ["expiring", "revoked"]).map { Lines.consent($0) }
        #expect(try await client.upload("/v1/consents", Lines.body(globexConsents), as: globex).status == .ok)
        #expect(try await client.upload("/v1/consents", Lines.body(third.map { Lines.consent($0) }), as: initech).status == .ok)
        var acmeSignals = shared.enumerated().map { Lines.signal($1, $0 < 40 ? "tents" : "stoves") }
        acmeSignals += third.map { Lines.signal($0, "tents") }
        acmeSignals += [Lines.signal("expiring", "tents"), Lines.signal("revoked", "tents")]
        #expect(try await client.upload("/v1/signals", Lines.body(acmeSignals), as: acme).int("accepted") == 92)
        var globexSignals = shared.enumerated().map { Lines.signal($1, $0 < 40 ? "espresso" : "tea") }
        globexSignals += [Lines.signal("expiring", "espresso"), Lines.signal("revoked", "espresso")]
        #expect(try await client.upload("/v1/signals", Lines.body(globexSignals), as: globex).int("accepted") == 62)
        #expect(try await client.upload("/v1/signals", Lines.body(third.map { Lines.signal($0, "laptops") }), as: initech).int("accepted") == 30)
        #expect(try await client.upload("/v1/revocations", Lines.body([Lines.revocation("revoked")]), as: acme).int("revoked") == 1)
    }

    @Test("upload for 3 partners, release, read affinities as each partner", arguments: TestStorage.available)
    func endToEnd(_ storage: TestStorage) async throws {
        try await TestDaemon.run(partners: ["acme", "globex", "initech"], storage: storage) { client, daemon in
            try await Self.upload(client, daemon)
            let service = ReleaseService(
                store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false),
                budget: PrivacyBudget())
            let record = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds() + 3_600_000)
            // Exact counts (noise off): expiring and revoked persons are excluded.
            #expect(record.summary.personsAtSeveralPartners == 90)
            let table = try #require(try await daemon.runtime.store.releasedTable(id: record.id))
            let tentsEspresso = try #require(table.pairs.first {
                table.catalog.name(of: Int($0.x)) == "acme:tents" && table.catalog.name(of: Int($0.y)) == "globex:espresso"
            })
            #expect(tentsEspresso.both == 40 && tentsEspresso.xWithin == 40 && tentsEspresso.yWithin == 40 && tentsEspresso.overlap == 60)

            let list = try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(list.status == .ok)
            let releases = try #require(list.json["releases"] as? [[String: Any]])
            #expect(releases.count == 1 && releases[0]["counts_are"] as? String == "bucketed")
            #expect(releases[0]["persons"] == nil && releases[0]["pairs_suppressed"] == nil, "exact sizes stay with the operator")

            let acme = try await client.execute(
                uri: "/v1/releases/latest/affinities?category=tents", method: .get,
                headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(acme.status == .ok)
            let acmeAffinities = try #require(acme.json["affinities"] as? [[String: Any]])
            #expect(acmeAffinities.first?["partner"] as? String == "globex")
            #expect(acmeAffinities.first?["other_category"] as? String == "espresso")
            #expect((acmeAffinities.first?["lift"] as? Double).map { abs($0 - 1.5) < 1e-9 } == true)
            #expect(acmeAffinities.first?["n"] as? Int == 40)
            #expect(acmeAffinities.allSatisfy { ($0["partner"] as? String) != "acme" })

            let globex = try await client.execute(
                uri: "/v1/releases/\(record.id)/affinities", method: .get,
                headers: [.authorization: "Bearer \(daemon.keys["globex"]!)"])
            let globexAffinities = try #require(globex.json["affinities"] as? [[String: Any]])
            #expect(!globexAffinities.isEmpty)
            #expect(globexAffinities.allSatisfy { $0["partner"] as? String == "acme" }, "globex shares customers with acme only")
            #expect(globexAffinities.allSatisfy { ["espresso", "tea"].contains($0["category"] as? String ?? "") })

            // initech overlaps acme with 30 persons: all its pairs are with acme, none with globex.
            let initech = try await client.execute(
                uri: "/v1/releases/latest/affinities", method: .get,
                headers: [.authorization: "Bearer \(daemon.keys["initech"]!)"])
            let initechAffinities = try #require(initech.json["affinities"] as? [[String: Any]])
            #expect(initechAffinities.count == 1 && initechAffinities[0]["partner"] as? String == "acme")

            // Another partner's category is not readable as one's own.
            let foreign = try await client.execute(
                uri: "/v1/releases/latest/affinities?category=espresso", method: .get,
                headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(foreign.status == .notFound && foreign.errorCode == "category_not_found")
            let unauthenticated = try await client.execute(uri: "/v1/releases", method: .get)
            #expect(unauthenticated.status == .unauthorized)
            let missing = try await client.execute(
                uri: "/v1/releases/999/affinities", method: .get, headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(missing.status == .notFound && missing.errorCode == "release_not_found")
            // A well-formed id past Int64 (schemathesis found it answered 400) names no release either.
            let huge = try await client.execute(
                uri: "/v1/releases/9969660982069743993277/affinities", method: .get,
                headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(huge.status == .notFound && huge.errorCode == "release_not_found")
            let malformed = try await client.execute(
                uri: "/v1/releases/07/affinities", method: .get, headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(malformed.status == .badRequest && malformed.errorCode == "bad_release_id")
            // Nothing row-level in any release answer: no token of any uploaded person.
            let everyone = (0..<60).map { "shared-\($0)" } + (0..<30).map { "third-\($0)" } + ["expiring", "revoked"]
            for answer in [list, acme, globex, initech, foreign, missing] {
                let text = answer.text.lowercased()
                #expect(everyone.allSatisfy { !text.contains(Lines.token($0)) })
            }
            let badLimit = try await client.execute(
                uri: "/v1/releases/latest/affinities?limit=0", method: .get, headers: [.authorization: "Bearer \(daemon.keys["acme"]!)"])
            #expect(badLimit.status == .badRequest && badLimit.errorCode == "bad_limit")
        }
    }

    @Test("the daemon releases on its schedule, exports each release for every partner, and stops cleanly on shutdown", arguments: TestStorage.available)
    func scheduledRelease(_ storage: TestStorage) async throws {
        let exports = NSTemporaryDirectory() + "clearinghouse-scheduled-exports-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: exports) }
        try await TestDaemon.run(partners: ["acme", "globex", "initech"], releaseEverySeconds: 1, exportDirectory: exports, storage: storage) { client, daemon in
            try await Self.upload(client, daemon)
            let uploaded = WallClock.nowMilliseconds()
            // The first scheduled release that started after the upload had finished.
            let record = try await Poll.value("a scheduled release after the upload", every: .milliseconds(100)) {
                try await daemon.runtime.store.releases().last {
                    $0.trigger == "schedule" && (RFC3339.parseMilliseconds($0.createdAt) ?? 0) >= uploaded
                }
            }
            #expect(record.summary.pairsReleased > 0)
            #expect(daemon.logText.contains("scheduled release stored"))
            // The scheduled export of that release, signed by the daemon's export key.
            let key = try #require(daemon.runtime.exportKey)
            let folder = "\(exports)/acme/release-\(record.id)"
            // The scheduler exports every partner and logs it before it makes the next release,
            // so a later release means this one's export is complete.
            try await Poll.until("a scheduled release after \(record.id)", every: .milliseconds(100)) {
                (try await daemon.runtime.store.release(id: nil)?.id ?? 0) > record.id
            }
            #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: Hex.decode(key.publicKeyHex)!).ok)
            #expect(FileManager.default.fileExists(atPath: "\(exports)/globex/release-\(record.id)/manifest.json"))
            #expect(daemon.logText.contains("scheduled export written"))
        }
    }

    @Test("with noise on, counts are noisy and over the threshold; the budget refuses and survives a restart")
    func budgetSurvivesRestart() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-budget-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/clearinghouse.sqlite"
        let settings = PrivacySettings(k: 10, epsilon: 1)
        // Room for exactly two releases at epsilon 1.
        let twice = ZeroConcentratedDP.epsilon(rho: 2 * ZeroConcentratedDP.rho(epsilon: 1, delta: 1e-6), delta: 1e-6)
        let budget = PrivacyBudget(epsilonPerPeriod: twice + 1e-6, period: .month, delta: 1e-6)
        // A fixed mid-month instant: with the wall clock, a run across midnight at a month's end
        // would find a fresh budget half way.
        let now = RFC3339.parseMilliseconds("2026-11-15T12:00:00Z")!
        do {
            let store = try SQLiteStore.open(path: path, pseudonymizer: TestPepper.deriver.auditPseudonymizer, logger: Logger(label: "test"))
            let service = ReleaseService(store: store, settings: settings, budget: budget)
            let first = try await service.releaseNow(trigger: "test", at: now)
            #expect(first.plan.sigma > 0 && first.plan.threshold > 10)
            #expect(first.publicInfo.countsAre == "noisy")
            _ = try await service.releaseNow(trigger: "test", at: now)
            await #expect(throws: ReleaseError.self) {
                try await service.releaseNow(trigger: "test", at: now)
            }
        }
        let reopened = try SQLiteStore.open(path: path, pseudonymizer: TestPepper.deriver.auditPseudonymizer, logger: Logger(label: "test"))
        let service = ReleaseService(store: reopened, settings: settings, budget: budget)
        #expect(try await service.epsilonLeft(at: now) ?? 1 < 1e-3)
        do {
            _ = try await service.releaseNow(trigger: "test", at: now)
            Issue.record("a release beyond the budget was stored after a restart")
        } catch let error as ReleaseError {
            #expect("\(error)".contains("budget"))
            #expect("\(error)".contains("left"))
        }
        #expect(try await reopened.releases().count == 2)
        // A new period has a fresh budget.
        let nextMonth = now + 40 * 86_400_000
        #expect(try await service.releaseNow(trigger: "test", at: nextMonth).budgetPeriod != PrivacyBudget.Period.month.key(at: now))
        // Stored releases are immutable.
        let queue = try DatabaseQueue(path: path)
        #expect(throws: (any Error).self) { try queue.write { try $0.execute(sql: "UPDATE release SET rho = 0") } }
    }
}
