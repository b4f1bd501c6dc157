import ClearinghouseCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The privacy budget as partners and the operator see it, on a fixed clock: the period, what
/// is spent and left, the releases that still fit, the reset; and the scheduler that stops
/// asking once the budget is spent.
@Suite("Privacy budget")
struct BudgetTests {
    /// Mid-month, so no run straddles a period boundary.
    static let now = RFC3339.parseMilliseconds("2026-11-15T12:00:00Z")!
    static let privacy = PrivacySettings(k: 10, epsilon: 1)
    /// Room for exactly three releases at epsilon 1.
    static let budget: PrivacyBudget = {
        let three = ZeroConcentratedDP.epsilon(rho: 3 * privacy.plan.rho, delta: 1e-6)
        return PrivacyBudget(epsilonPerPeriod: three + 1e-9, period: .month, delta: 1e-6)
    }()

    func budget(_ client: any TestClientProtocol, as key: String) async throws -> [String: Any] {
        let answer = try await client.execute(uri: "/v1/budget", method: .get, headers: [.authorization: "Bearer \(key)"])
        #expect(answer.status == .ok)
        return try #require(try JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any])
    }

    @Test("GET /v1/budget: the period and its reset, spent and left, releases that fit and each release's cost; the report shows it")
    func partnerView() async throws {
        try await TestDaemon.run(privacy: Self.privacy, budget: Self.budget, clock: { Self.now }) { client, daemon in
            let acme = daemon.keys["acme"]!
            let before = try await budget(client, as: acme)
            #expect(before["period"] as? String == "2026-11" && before["period_kind"] as? String == "month")
            #expect(before["period_start"] as? String == "2026-11-01T00:00:00.000Z")
            #expect(before["resets_at"] as? String == "2026-12-01T00:00:00.000Z")
            #expect(before["releases_left"] as? Int == 3 && before["exhausted"] as? Bool == false)
            #expect(before["epsilon_spent"] as? Double == 0 && (before["releases"] as? [Any])?.isEmpty == true)

            let service = ReleaseService(store: daemon.runtime.store, settings: Self.privacy, budget: Self.budget)
            let first = try await service.releaseNow(trigger: "test", at: Self.now)
            _ = try await service.releaseNow(trigger: "test", at: Self.now)
            let two = try await budget(client, as: daemon.keys["globex"]!)
            #expect(two["releases_left"] as? Int == 1)
            let spent = try #require(two["epsilon_spent"] as? Double)
            #expect(abs(spent - Self.budget.epsilonSpent(rho: 2 * first.plan.rho)) < 1e-9)
            #expect(abs((two["epsilon_left"] as? Double ?? -1) - (Self.budget.epsilonPerPeriod - spent)) < 1e-9)
            let releases = try #require(two["releases"] as? [[String: Any]])
            #expect(releases.map { $0["release"] as? Int } == [Int(first.id), Int(first.id) + 1])
            #expect(releases.allSatisfy { abs(($0["epsilon"] as? Double ?? 0) - 1) < 1e-9 }, "each release alone is epsilon 1")

            _ = try await service.releaseNow(trigger: "test", at: Self.now)
            let spentAll = try await budget(client, as: acme)
            #expect(spentAll["releases_left"] as? Int == 0 && spentAll["exhausted"] as? Bool == true)
            await #expect(throws: ReleaseError.self) { try await service.releaseNow(trigger: "test", at: Self.now) }
            // Only aggregate figures: no key, no count of any cell.
            #expect(Set(spentAll.keys).isSubset(of: [
                "differential_privacy", "period", "period_kind", "period_start", "resets_at", "delta", "epsilon_per_period",
                "epsilon_per_release", "epsilon_spent", "epsilon_left", "rho_spent", "rho_limit", "releases_left", "exhausted",
                "scheduled_releases", "releases",
            ]))
            let anonymous = try await client.execute(uri: "/v1/budget", method: .get)
            #expect(anonymous.status == .unauthorized)

            // The per-partner report of an export shows the same period, as of the export.
            let out = NSTemporaryDirectory() + "budget-export-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: out) }
            let key = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            let exported = try await ReleaseExporter(
                store: daemon.runtime.store, key: key, scoring: RecommendationSettings(), budget: (Self.budget, Self.privacy)
            ).export(releaseID: first.id, to: out, at: Self.now)
            for outcome in exported.outcomes {
                guard case .written(let folder) = outcome.folder else { continue }
                let report = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
                #expect(report.contains("<h2>Privacy budget</h2>") && report.contains("resets 2026-12-01T00:00:00.000Z"))
                #expect(report.contains("<td>releases that still fit</td><td>0 at epsilon 1.0 (spent until the reset)</td>"))
            }
        }
    }

    @Test("a scheduled release that finds the budget spent logs it once, /readyz and the budget say so, and it does not retry")
    func scheduledReleasePauses() async throws {
        let one = PrivacyBudget(
            epsilonPerPeriod: ZeroConcentratedDP.epsilon(rho: Self.privacy.plan.rho, delta: 1e-6) + 1e-9, period: .month, delta: 1e-6)
        // A clock that runs at the wall clock's pace from mid-month: the scheduler needs time
        // to pass, and no run may straddle a month's end.
        let wallStart = WallClock.nowMilliseconds()
        let clock: @Sendable () -> Int64 = { Self.now + (WallClock.nowMilliseconds() - wallStart) }
        try await TestDaemon.run(releaseEverySeconds: 1, privacy: Self.privacy, budget: one, clock: clock) { client, daemon in
            let pause = try await Poll.value("the scheduler to pause for the budget") { daemon.runtime.releasePause.current }
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            let readyText = String(buffer: ready.body)
            #expect(readyText.contains("scheduled_releases") && readyText.contains("privacy budget of period \(pause.period) is spent"))
            let answer = try await budget(client, as: daemon.keys["acme"]!)
            #expect((answer["scheduled_releases"] as? String)?.contains("paused") == true)
            // The pause lasts until the period that was spent ends: 2026-11 until December 1st.
            #expect(pause.period == "2026-11")
            #expect(RFC3339.format(milliseconds: pause.resumesAt) == "2026-12-01T00:00:00.000Z")
            // Three more intervals pass: still one release, one warning, no retry.
            let watchUntil = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < watchUntil {
                #expect(try await daemon.runtime.store.releases().count == 1)
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(daemon.runtime.releasePause.refusals == 1, "refused once, then no retry until the reset")
            #expect(daemon.logText.components(separatedBy: "scheduled releases paused").count == 2, "logged once")
            #expect(!daemon.logText.contains("scheduled release refused"))
        }
    }

    @Test("periods: a day, an ISO week from Monday and a month, each with its reset")
    func periodBounds() {
        let lastDay = RFC3339.parseMilliseconds("2026-12-31T23:59:59.999Z")!
        func text(_ bounds: (start: Int64, end: Int64)) -> String {
            RFC3339.format(milliseconds: bounds.start) + " " + RFC3339.format(milliseconds: bounds.end)
        }
        #expect(text(PrivacyBudget.Period.day.bounds(at: lastDay)) == "2026-12-31T00:00:00.000Z 2027-01-01T00:00:00.000Z")
        #expect(text(PrivacyBudget.Period.week.bounds(at: lastDay)) == "2026-12-28T00:00:00.000Z 2027-01-04T00:00:00.000Z")
        #expect(text(PrivacyBudget.Period.month.bounds(at: lastDay)) == "2026-12-01T00:00:00.000Z 2027-01-01T00:00:00.000Z")
        #expect(PrivacyBudget.Period.week.key(at: lastDay) == "2026-W53")
    }
}
