import ClearinghouseCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `GET /v1/releases/{id}/gaps` over HTTP, on data uploaded through the real ingest: acme's
/// tents are rare among globex's espresso buyers.
@Suite("Gaps over HTTP")
struct GapHTTPTests {
    @Test("a partner reads the gaps of its own items (espresso first), nothing of another's; bad requests get clear errors")
    func gaps() async throws {
        try await TestDaemon.run(partners: ["acme", "globex"]) { client, daemon in
            let (acme, globex) = (daemon.keys["acme"]!, daemon.keys["globex"]!)
            let persons = 6000
            let everyone = (0..<persons).map { "gap-\($0)" }
            for key in [acme, globex] {
                #expect(try await client.upload("/v1/consents", Lines.body(everyone.map { Lines.consent($0) }), as: key).status == .ok)
            }
            // globex: espresso, filter or decaf; acme: tents for 3% of espresso buyers, 40% of the others.
            let coffee = everyone.indices.map { Lines.signal(everyone[$0], ["espresso", "filter", "decaf"][$0 % 3]) }
            #expect(try await client.upload("/v1/signals", Lines.body(coffee), as: globex).int("dropped_no_consent") == 0)
            let outdoor = everyone.indices.flatMap { index -> [String] in
                let rate = index % 3 == 0 ? 300 : 4000
                var lines = [Lines.signal(everyone[index], index % 2 == 0 ? "boots" : "stoves")]
                if (index / 3) * 7919 % 10_000 < rate { lines.append(Lines.signal(everyone[index], "tents", weight: 2)) }
                return lines
            }
            #expect(try await client.upload("/v1/signals", Lines.body(outdoor), as: acme).int("dropped_no_consent") == 0)
            let service = ReleaseService(store: daemon.runtime.store, settings: daemon.runtime.settings.privacy, budget: PrivacyBudget())
            _ = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())

            func get(_ uri: String, as key: String?) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .get, headers: key.map { [.authorization: "Bearer \($0)"] } ?? [:])
            }
            let answer = try await get("/v1/releases/latest/gaps?category=tents&limit=5", as: acme)
            #expect(answer.status == .ok)
            #expect(answer.json["partner"] as? String == "acme" && answer.json["confidence"] as? Double == 0.95)
            let lists = try #require(answer.json["lists"] as? [[String: Any]])
            #expect(lists.map { $0["category"] as? String } == ["tents"])
            let gaps = try #require(lists.first?["gaps"] as? [[String: Any]])
            let first = try #require(gaps.first)
            #expect(first["audience"] as? String == "globex:espresso" && first["basis"] as? String == "fewer")
            // Without noise (this daemon's release), partners see counts rounded down to tens.
            let missing = try #require(first["missing"] as? Int)
            #expect(missing % 10 == 0 && (440...540).contains(missing), "2000 x 1660/6000 - 60 = 493: \(missing)")
            #expect(gaps.allSatisfy { ($0["audience"] as? String)?.hasPrefix("globex:") == true })

            // All of acme's categories without category=; globex never sees acme's items.
            let all = try await get("/v1/releases/latest/gaps", as: acme)
            #expect(Set((all.json["lists"] as? [[String: Any]] ?? []).compactMap { $0["category"] as? String }) == ["boots", "stoves", "tents"])
            let other = try await get("/v1/releases/latest/gaps?category=tents", as: globex)
            #expect(other.status == .notFound && other.errorCode == "category_not_found")
            let theirs = try await get("/v1/releases/latest/gaps", as: globex)
            for list in theirs.json["lists"] as? [[String: Any]] ?? [] {
                for gap in list["gaps"] as? [[String: Any]] ?? [] { #expect((gap["audience"] as? String)?.hasPrefix("acme:") == true) }
            }
            #expect(try await get("/v1/releases/latest/gaps", as: nil).status == .unauthorized)
            let badLimit = try await get("/v1/releases/latest/gaps?limit=0", as: acme)
            #expect(badLimit.status == .badRequest && badLimit.errorCode == "bad_limit")
            #expect(try await get("/v1/releases/99/gaps", as: acme).status == .notFound)
        }
    }
}
