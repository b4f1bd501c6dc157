import ClearinghouseCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The feedback loop over HTTP: partners report outcomes of suggestions, the lists learn from
/// them, a partner sees only its own, and releases pool them across partners with noise.
@Suite("Outcomes end to end")
struct OutcomesHTTPTests {
    static let partners = RecommendationHTTPTests.consortium.partners
    /// Every pair with some lift is a candidate: lists long enough to explore in.
    static let recommendation = RecommendationSettings(minimumLift: 1.0)
    static let today = UTCDay(containing: WallClock.nowMilliseconds())
    /// A day whose list counts every report recorded so far: it begins more than the day's
    /// five-minute cut after now, whatever the time of day the test runs (also around midnight).
    static var tomorrow: String { UTCDay(containing: WallClock.nowMilliseconds() + 86_400_000 + 600_000).description }

    static func line(
        release: Int64, kind: String = "cross", item: String, suggested: String, invited: Int, accepted: Int, week: Int = 1
    ) -> String {
        let end = today.start - Int64(week - 1) * 7 * 86_400_000
        return "{\"release\": \(release), \"kind\": \"\(kind)\", \"item\": \"\(item)\", \"suggested\": \"\(suggested)\", "
            + "\"invited\": \(invited), \"accepted\": \(accepted), \"period_start\": \"\(RFC3339.format(milliseconds: end - 7 * 86_400_000))\", "
            + "\"period_end\": \"\(RFC3339.format(milliseconds: end))\"}"
    }

    func get(_ client: any TestClientProtocol, _ uri: String, as key: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(key)"])
    }

    /// acme's cross-brand list with the most candidates: its category.
    func richestCategory(_ client: any TestClientProtocol, _ daemon: TestDaemon) async throws -> String {
        let answer = try await get(client, "/v1/releases/latest/recommendations?kind=cross&limit=50", as: daemon.keys["acme"]!)
        let lists = try #require(answer.json["lists"] as? [[String: Any]], "\(answer.text)")
        let richest = try #require(lists.max { ($0["suggestions"] as? [Any])?.count ?? 0 < ($1["suggestions"] as? [Any])?.count ?? 0 })
        try #require(((richest["suggestions"] as? [Any])?.count ?? 0) >= 3, "\(answer.text)")
        return try #require(richest["category"] as? String)
    }

    /// Every candidate of acme's cross-brand list for `category`.
    func candidates(_ client: any TestClientProtocol, _ daemon: TestDaemon, _ category: String, day: String? = nil) async throws
        -> [[String: Any]]
    {
        let answer = try await get(
            client, "/v1/releases/latest/recommendations?category=\(category)&kind=cross&limit=50" + (day.map { "&day=\($0)" } ?? ""),
            as: daemon.keys["acme"]!)
        #expect(answer.status == .ok)
        return try #require((answer.json["lists"] as? [[String: Any]])?.first?["suggestions"] as? [[String: Any]])
    }

    @Test("outcomes are checked whole, stored atomically, corrected by a later report, and the lists learn", arguments: TestStorage.available)
    func loop(_ storage: TestStorage) async throws {
        try await TestDaemon.run(partners: Self.partners, storage: storage, recommendation: Self.recommendation) { client, daemon in
            try await RecommendationHTTPTests.upload(client, daemon)
            let record = try await ReleaseService(
                store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false), budget: PrivacyBudget()
            ).releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            let acme = daemon.keys["acme"]!
            let category = try await richestCategory(client, daemon)
            let before = try await candidates(client, daemon, category)
            #expect(before.allSatisfy { $0["invited"] as? Int == 0 && $0["mode"] != nil && $0["posterior"] != nil })
            let first = try #require(before.first?["item"] as? String)
            let second = try #require(before.last?["item"] as? String)

            // Bad lines reject the whole batch, each named; nothing is stored.
            let bad = [
                Self.line(release: record.id, item: category, suggested: first, invited: 100, accepted: 10),
                Self.line(release: record.id, item: category, suggested: "globex:c01", invited: 100, accepted: 10),
                Self.line(release: 99, item: category, suggested: first, invited: 100, accepted: 10, week: 2),
                Self.line(release: record.id, item: "nope", suggested: first, invited: 100, accepted: 10),
                Self.line(release: record.id, item: category, suggested: second, invited: 10, accepted: 11),
            ]
            let rejected = try await client.upload("/v1/outcomes", Lines.body(bad), as: acme)
            #expect(rejected.status == .badRequest && rejected.errorCode == "invalid_lines")
            #expect(rejected.lineErrors.map { $0["line"] as? Int } == [2, 3, 4, 5])
            #expect(rejected.lineErrors.map { $0["field"] as? String } == ["suggested", "release", "item", "accepted"])
            #expect(try await daemon.runtime.store.outcomes(partner: nil, endingAfter: nil).isEmpty)

            // A good batch: stored, ledgered, answered with a receipt.
            let good = [
                Self.line(release: record.id, item: category, suggested: first, invited: 1000, accepted: 50),
                Self.line(release: record.id, item: category, suggested: second, invited: 400, accepted: 120),
            ]
            let stored = try await client.upload("/v1/outcomes", Lines.body(good), as: acme, headers: [.init("Idempotency-Key")!: "week-1"])
            #expect(stored.status == .ok, "\(stored.text)")
            #expect(stored.int("stored") == 2 && stored.int("replaced") == 0 && stored.int("ledger_sequence") != nil)
            let replay = try await client.upload("/v1/outcomes", Lines.body(good), as: acme, headers: [.init("Idempotency-Key")!: "week-1"])
            #expect(replay.status == .ok && replay.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(replay.int("batch_id") == stored.int("batch_id"))
            let conflict = try await client.upload(
                "/v1/outcomes", Lines.body(Array(good.prefix(1))), as: acme, headers: [.init("Idempotency-Key")!: "week-1"])
            #expect(conflict.errorCode == "idempotency_conflict")

            // A correction of the same suggestion and period replaces it; the ledger says so.
            let correction = try await client.upload(
                "/v1/outcomes",
                Lines.body([Self.line(release: record.id, item: category, suggested: second, invited: 400, accepted: 140)]), as: acme,
                contentType: "application/x-ndjson")
            #expect(correction.int("replaced") == 1 && correction.int("stored") == 0)
            let all = try await daemon.runtime.store.outcomes(partner: "acme", endingAfter: nil)
            #expect(all.count == 3 && all.filter(\.isLive).count == 2)
            #expect(all.filter(\.isLive).first { $0.line.suggested == second }?.line.accepted == 140)
            let entries = try await daemon.runtime.store.ledgerEntries(LedgerFilter(partner: "acme"))
            let last = try #require(entries.last)
            #expect(last.action == .outcomesBatch)
            #expect(last.details.contains("\"accepted_before\":120") && last.details.contains("\"accepted\":140"))

            // CSV and gzip like every batch.
            let csv = "release,kind,item,suggested,invited,accepted,period_start,period_end\n"
                + "\(record.id),cross,\(category),\(first),900,45,\(RFC3339.format(milliseconds: Self.today.start - 21 * 86_400_000)),"
                + "\(RFC3339.format(milliseconds: Self.today.start - 14 * 86_400_000))\n"
            let zipped = try await client.upload(
                "/v1/outcomes", try await gzip(Array(csv.utf8)), as: acme, contentType: "text/csv",
                headers: [.contentEncoding: "gzip"])
            #expect(zipped.status == .ok && zipped.int("stored") == 1, "\(zipped.text)")

            // Today's list counts what was recorded before today began: unchanged, and stable.
            let again = try await candidates(client, daemon, category)
            #expect(again.allSatisfy { $0["invited"] as? Int == 0 })
            // Three slots, one of them explore, among more untried candidates than that: a real draw.
            let twice = try await get(client, "/v1/releases/latest/recommendations?category=\(category)&kind=cross&limit=3", as: acme)
            let thrice = try await get(client, "/v1/releases/latest/recommendations?category=\(category)&kind=cross&limit=3", as: acme)
            #expect(twice.json["lists"] as? NSArray == thrice.json["lists"] as? NSArray)
            let drawn = ((twice.json["lists"] as? [[String: Any]])?.first?["suggestions"] as? [[String: Any]]) ?? []
            #expect(drawn.contains { $0["mode"] as? String == "explore" && ($0["selection_probability"] as? Double ?? 1) < 1 })
            // Tomorrow's takes them in: the posterior moves toward 140 of 400.
            let learned = try await candidates(client, daemon, category, day: Self.tomorrow)
            let updated = try #require(learned.first { $0["item"] as? String == second })
            #expect(updated["invited"] as? Int == 400 && updated["accepted"] as? Int == 140)
            let posterior = try #require(updated["posterior"] as? [String: Double])
            #expect(posterior["mean"]! > 0.25 && posterior["low"]! < posterior["mean"]! && posterior["high"]! > posterior["mean"]!)
            #expect(learned.first?["item"] as? String == second, "the best posterior mean comes first")
            let firstTotals = try #require(learned.first { $0["item"] as? String == first })
            #expect(firstTotals["invited"] as? Int == 1900)
            let exploit = try await get(
                client, "/v1/releases/latest/recommendations?category=\(category)&kind=cross&mode=exploit&day=\(Self.tomorrow)", as: acme)
            let modes = ((exploit.json["lists"] as? [[String: Any]])?.first?["suggestions"] as? [[String: Any]])?.compactMap { $0["mode"] as? String }
            #expect(modes?.allSatisfy { $0 == "exploit" } == true && exploit.json["mode"] as? String == "exploit")
            #expect(try await get(client, "/v1/releases/latest/recommendations?mode=sometimes", as: acme).errorCode == "bad_mode")
            #expect(try await get(client, "/v1/releases/latest/recommendations?day=tomorrow", as: acme).errorCode == "bad_day")

            // The summary: per period, outside vs inside the baseline, explore vs exploit.
            let summary = try await get(client, "/v1/outcomes/summary", as: acme)
            #expect(summary.status == .ok)
            #expect((summary.json["total"] as? [String: Any])?["invited"] as? Int == 2300)
            #expect((summary.json["periods"] as? [[String: Any]])?.count == 2)
            let cli = try await daemon.admin(["outcomes", "summary", "--partner", "acme", "--format", "json"])
            #expect(cli.status == 0, "\(cli.errors)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(cli.output.utf8)) as? [String: Any])
            let cliSummary = try #require((report["partners"] as? [[String: Any]])?.first)
            #expect(cliSummary["total"] as? NSDictionary == summary.json["total"] as? NSDictionary)
            let text = try await daemon.admin(["outcomes", "summary"])
            #expect(text.status == 0 && text.output.contains("acme: 2 suggestions reported"))

            // The exports: the day's learned lists in recommendations.csv, the outcome chart in
            // acme's report and none in another partner's.
            let out = NSTemporaryDirectory() + "outcome-export-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: out) }
            let signing = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            _ = try await ReleaseExporter(store: daemon.runtime.store, key: signing, scoring: Self.recommendation).export(
                releaseID: record.id, to: out)
            let csvRows = try String(contentsOfFile: "\(out)/acme/release-\(record.id)/recommendations.csv", encoding: .utf8)
                .split(separator: "\n")
            #expect(csvRows.first?.hasSuffix(",mode,selection_probability,posterior_mean,posterior_low,posterior_high,invited,accepted,proven") == true)
            #expect(csvRows.count > 1 && csvRows.dropFirst().allSatisfy { $0.contains(",exploit,") || $0.contains(",explore,") })
            let acmeReport = try String(contentsOfFile: "\(out)/acme/release-\(record.id)/report.html", encoding: .utf8)
            #expect(acmeReport.contains("id=\"outcome-chart\"") && acmeReport.contains("<polyline"))
            let globexReport = try String(contentsOfFile: "\(out)/globex/release-\(record.id)/report.html", encoding: .utf8)
            #expect(!globexReport.contains("id=\"outcome-chart\"") && globexReport.contains("No outcomes reported yet"))

            // Another partner sees none of it: its summary is empty, its lists count nothing.
            let globex = daemon.keys["globex"]!
            let theirs = try await get(client, "/v1/outcomes/summary", as: globex)
            #expect((theirs.json["total"] as? [String: Any])?["invited"] as? Int == 0)
            #expect((theirs.json["periods"] as? [Any])?.isEmpty == true)
            let theirLists = try await get(client, "/v1/releases/latest/recommendations?kind=cross&day=\(Self.tomorrow)", as: globex)
            for list in theirLists.json["lists"] as? [[String: Any]] ?? [] {
                #expect((list["suggestions"] as? [[String: Any]] ?? []).allSatisfy { $0["invited"] as? Int == 0 })
            }
            // A partner cannot report on another partner's lists: globex has no such suggestion.
            let foreign = try await client.upload(
                "/v1/outcomes", Lines.body([Self.line(release: record.id, item: category, suggested: "globex:c00", invited: 10, accepted: 1)]),
                as: globex)
            #expect(foreign.errorCode == "invalid_lines")
        }
    }

    /// Every cross-brand candidate of `partner`'s lists: (its category, the suggested item).
    func offers(_ client: any TestClientProtocol, _ daemon: TestDaemon, _ partner: String) async throws -> [(category: String, item: String)] {
        let answer = try await get(client, "/v1/releases/latest/recommendations?kind=cross&limit=50", as: daemon.keys[partner]!)
        return (answer.json["lists"] as? [[String: Any]] ?? []).flatMap { list in
            (list["suggestions"] as? [[String: Any]] ?? []).compactMap { suggestion in
                (suggestion["item"] as? String).map { (list["category"] as? String ?? "", $0) }
            }
        }
    }

    /// A DP release, then outcomes of one suggested item from acme and globex and of another from
    /// acme alone, then the release that pools them.
    func reportAndPool(
        _ client: any TestClientProtocol, _ daemon: TestDaemon, _ service: ReleaseService
    ) async throws -> (first: ReleaseRecord, second: ReleaseRecord, shared: String, alone: String) {
        try await RecommendationHTTPTests.upload(client, daemon)
        let first = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
        #expect(first.pooled == nil, "no outcomes yet: nothing pooled, nothing spent")
        let acmeOffers = try await offers(client, daemon, "acme")
        let globexOffers = try await offers(client, daemon, "globex")
        let shared = try #require(acmeOffers.first { offer in globexOffers.contains { $0.item == offer.item } }, "an item both are offered")
        let theirs = try #require(globexOffers.first { $0.item == shared.item })
        let alone = try #require(acmeOffers.first { offer in offer.item != shared.item && !globexOffers.contains { $0.item == offer.item } })
        let fromAcme = try await client.upload(
            "/v1/outcomes",
            Lines.body([
                Self.line(release: first.id, item: shared.category, suggested: shared.item, invited: 4567, accepted: 4321),
                Self.line(release: first.id, item: alone.category, suggested: alone.item, invited: 5555, accepted: 4444),
            ]), as: daemon.keys["acme"]!)
        #expect(fromAcme.status == .ok, "\(fromAcme.text)")
        let fromGlobex = try await client.upload(
            "/v1/outcomes",
            Lines.body([Self.line(release: first.id, item: theirs.category, suggested: shared.item, invited: 3000, accepted: 700)]),
            as: daemon.keys["globex"]!)
        #expect(fromGlobex.status == .ok, "\(fromGlobex.text)")
        let second = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
        return (first, second, shared.item, alone.item)
    }

    /// Little noise on the release (its pairs pass the threshold), epsilon 1 on the pool.
    static let privacy = PrivacySettings(k: 10, epsilon: 20)
    static let feedback = FeedbackSettings(pooledEpsilon: 1, poolDays: 28, maxLinesPerCustomer: 4)

    @Test("a release pools outcomes across partners with noise above a threshold, once per window, and charges the budget for it")
    func pooled() async throws {
        let budget = PrivacyBudget(epsilonPerPeriod: 100)
        try await TestDaemon.run(partners: Self.partners, privacy: Self.privacy, budget: budget, recommendation: Self.recommendation) {
            client, daemon in
            let service = ReleaseService(store: daemon.runtime.store, settings: Self.privacy, budget: budget, feedback: Self.feedback)
            let (first, second, shared, alone) = try await reportAndPool(client, daemon, service)
            let pooled = try #require(second.pooled)
            #expect(pooled.partners == 2)
            #expect(pooled.items.map(\.item) == [shared], "\(alone), which acme alone invited, is never shown")
            #expect(abs(pooled.rho - ZeroConcentratedDP.rho(epsilon: 1, delta: Self.privacy.delta)) < 1e-15)
            // The budget charged both: each release's own rho, and the pooled acceptance's.
            let spent = try await daemon.runtime.store.spentRho(period: second.budgetPeriod)
            #expect(abs(spent - (first.plan.rho + second.plan.rho + pooled.rho)) < 1e-12)
            let acme = daemon.keys["acme"]!
            let status = try await get(client, "/v1/budget", as: acme)
            let releases = try #require(status.json["releases"] as? [[String: Any]])
            #expect(abs((releases.last?["pooled_rho"] as? Double ?? 0) - pooled.rho) < 1e-15)
            #expect(abs((status.json["rho_spent"] as? Double ?? 0) - spent) < 1e-12)
            let entry = try #require(try await daemon.runtime.store.ledgerEntries(LedgerFilter(action: .releaseComputed)).last)
            #expect(entry.details.contains("\"pooled_rho\":\(pooled.rho)") && entry.details.contains("\"pooled_items\":1"))
            // The next release is inside the same window: it pools nothing and spends its own rho only.
            let third = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            #expect(third.pooled == nil)
            let after = try await daemon.runtime.store.spentRho(period: third.budgetPeriod)
            #expect(abs(after - spent - third.plan.rho) < 1e-12)
            #expect(PooledAcceptance.latest(in: try await daemon.runtime.store.releases(), upTo: third.id, feedback: Self.feedback) == pooled)
            // A release computed before the pooled one was stored (a `release now` racing the
            // scheduler) is stored without its own pool: the store decides it in its transaction.
            let table = try #require(try await daemon.runtime.store.releasedTable(id: third.id))
            let late = try await daemon.runtime.store.storeRelease(
                NewRelease(
                    createdAt: WallClock.nowMilliseconds(), trigger: "test", settings: Self.privacy, plan: third.plan,
                    summary: third.summary, budgetPeriod: third.budgetPeriod, durationMilliseconds: 0, table: table, pooled: pooled),
                budget: budget)
            #expect(late.pooled == nil)
            #expect(abs(try await daemon.runtime.store.spentRho(period: late.budgetPeriod) - after - late.plan.rho) < 1e-12)

            // Other partners read the pooled rate in the release's information, never acme's counts.
            let globex = daemon.keys["globex"]!
            let info = try await get(client, "/v1/releases", as: globex)
            let published = try #require(
                (info.json["releases"] as? [[String: Any]])?.first { ($0["id"] as? Int) == Int(second.id) }?["pooled_acceptance"]
                    as? [String: Any])
            #expect((published["items"] as? [[String: Any]])?.map { $0["item"] as? String } == [shared])
            var seen: [String: Int] = [:]
            for path in [
                "/v1/releases", "/v1/outcomes/summary", "/v1/releases/latest/recommendations?kind=cross",
                "/v1/releases/latest/recommendations?kind=instead&day=\(Self.tomorrow)", "/v1/budget",
            ] {
                let answer = try await get(client, path, as: globex)
                // The pooled acceptance is the documented, noisy channel (its noise is tested in
                // PooledAcceptanceTests); every other number must not be acme's. acme's counts are
                // above the consortium's 4000 persons, so no released count equals them by chance.
                let numbers = Self.integers(in: try JSONSerialization.jsonObject(with: Data(buffer: answer.body)), skipping: "pooled_acceptance")
                seen[path] = numbers.filter { [4567, 4321, 5555, 4444].contains($0) }.count
            }
            #expect(seen.values.allSatisfy { $0 == 0 }, "acme's own counts reach no other partner: \(seen)")
        }
    }

    @Test("a release without room for its pooled acceptance goes out without it")
    func pooledYieldsToTheRelease() async throws {
        // Room for two releases and half a pooled acceptance.
        let rho = Self.privacy.plan.rho
        let pooledRho = ZeroConcentratedDP.rho(epsilon: Self.feedback.pooledEpsilon, delta: Self.privacy.delta)
        let budget = PrivacyBudget(epsilonPerPeriod: ZeroConcentratedDP.epsilon(rho: 2 * rho + pooledRho / 2, delta: Self.privacy.delta))
        try await TestDaemon.run(partners: Self.partners, privacy: Self.privacy, budget: budget, recommendation: Self.recommendation) {
            client, daemon in
            let service = ReleaseService(store: daemon.runtime.store, settings: Self.privacy, budget: budget, feedback: Self.feedback)
            let (first, second, _, _) = try await reportAndPool(client, daemon, service)
            #expect(PooledAcceptance.isDue(at: WallClock.nowMilliseconds(), releases: [first], privacy: Self.privacy, feedback: Self.feedback))
            #expect(second.pooled == nil)
            let entry = try #require(try await daemon.runtime.store.ledgerEntries(LedgerFilter(action: .releaseComputed)).last)
            #expect(!entry.details.contains("pooled_rho"), "no pooled part was charged")
            #expect(abs(try await daemon.runtime.store.spentRho(period: second.budgetPeriod) - 2 * rho) < 1e-12)
        }
    }

    /// Every whole number in a JSON value, but under the key `skipping`.
    static func integers(in value: Any, skipping: String) -> [Int] {
        switch value {
        case let dictionary as [String: Any]:
            return dictionary.filter { $0.key != skipping }.values.flatMap { integers(in: $0, skipping: skipping) }
        case let array as [Any]: return array.flatMap { integers(in: $0, skipping: skipping) }
        case let number as NSNumber where Double(number.intValue) == number.doubleValue: return [number.intValue]
        default: return []
        }
    }
}
