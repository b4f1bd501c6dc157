import ClearinghouseCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Uploads a synthetic consortium with a planted bridge through the real ingest, releases it,
/// and reads the surprise lists over HTTP as each partner.
@Suite("Recommendations end to end")
struct RecommendationHTTPTests {
    static let consortium = SyntheticConsortium(
        partners: ["acme", "globex", "initech"], categories: 8, persons: 4000,
        plants: [.init(fromPartner: 0, fromCategory: 5, viaPartner: 1, viaCategory: 6, toCategory: 7)], seed: 5)

    static func upload(_ client: any TestClientProtocol, _ daemon: TestDaemon) async throws {
        let consortium = Self.consortium
        for (index, partner) in consortium.partners.enumerated() {
            let key = daemon.keys[partner]!
            let members = consortium.memberships.indices.filter { consortium.memberships[$0].contains(index) }
            let consents = members.map { Lines.consent("synthetic-\($0)") }
            #expect(try await client.upload("/v1/consents", Lines.body(consents), as: key).status == .ok)
            let signals = consortium.signals.filter { $0.partner == index }.map {
                Lines.signal("synthetic-\($0.person)", SyntheticConsortium.categoryName($0.category), weight: $0.weight)
            }
            #expect(try await client.upload("/v1/signals", Lines.body(signals), as: key).int("dropped_no_consent") == 0)
        }
    }

    func get(_ client: any TestClientProtocol, _ uri: String, as key: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(key)"])
    }

    @Test("try instead finds the bridge, cross lists only other brands, each partner sees only its own side", arguments: TestStorage.available)
    func endToEnd(_ storage: TestStorage) async throws {
        try await TestDaemon.run(partners: Self.consortium.partners, storage: storage) { client, daemon in
            try await Self.upload(client, daemon)
            let service = ReleaseService(
                store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false), budget: PrivacyBudget())
            let record = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            #expect(record.summary.ownPairsReleased > 0)
            let acme = daemon.keys["acme"]!

            let instead = try await get(client, "/v1/releases/latest/recommendations?category=c05&kind=instead&limit=3", as: acme)
            #expect(instead.status == .ok)
            #expect(instead.json["kind"] as? String == "instead")
            #expect((instead.json["scoring"] as? [String: Any])?["min_lift"] as? Double == 1.5)
            let list = try #require((instead.json["lists"] as? [[String: Any]])?.first)
            let suggestions = try #require(list["suggestions"] as? [[String: Any]])
            let rank = try #require(suggestions.firstIndex { $0["item"] as? String == "acme:c07" })
            #expect(rank <= 1)
            let bridges = try #require(suggestions[rank]["bridges"] as? [[String: Any]])
            #expect(bridges.first?["item"] as? String == "globex:c06")
            let baseline = try #require((list["baseline"] as? [String: Any])?["items"] as? [String])
            #expect(!baseline.contains("acme:c07"))

            let cross = try await get(client, "/v1/releases/\(record.id)/recommendations?kind=cross", as: daemon.keys["globex"]!)
            #expect(cross.status == .ok)
            let lists = try #require(cross.json["lists"] as? [[String: Any]])
            #expect(lists.count == 8)
            for list in lists {
                for suggestion in list["suggestions"] as? [[String: Any]] ?? [] {
                    #expect(suggestion["partner"] as? String != "globex")
                    #expect((suggestion["lift"] as? Double ?? 0) >= 1.5)
                    #expect((suggestion["count"] as? Int ?? 1) % 10 == 0)
                }
            }
            // No token or person key in any answer.
            for response in [instead, cross] {
                #expect(!response.text.contains(Lines.token("synthetic-1")))
            }

            // The operator's view is the same ranking.
            let cli = try await daemon.admin(
                ["recommend", "--partner", "acme", "--category", "c05", "--kind", "instead", "--limit", "3", "--format", "json"])
            #expect(cli.status == 0, "\(cli.errors)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(cli.output.utf8)) as? [String: Any])
            let cliItems = ((report["lists"] as? [[String: Any]])?.first?["suggestions"] as? [[String: Any]])?.compactMap { $0["item"] as? String }
            #expect(cliItems == suggestions.compactMap { $0["item"] as? String })
            let text = try await daemon.admin(["recommend", "--partner", "acme", "--category", "c05", "--kind", "instead"])
            #expect(text.status == 0 && text.output.contains("via globex:c06"))
            let unknown = try await daemon.admin(["recommend", "--partner", "nobody"])
            #expect(unknown.status != 0 && unknown.errors.contains("no released pair"))

            #expect(try await get(client, "/v1/releases/latest/recommendations?kind=sideways", as: acme).errorCode == "bad_kind")
            #expect(try await get(client, "/v1/releases/latest/recommendations?category=nope", as: acme).errorCode == "category_not_found")
            #expect(try await get(client, "/v1/releases/latest/recommendations?limit=0", as: acme).errorCode == "bad_limit")
            #expect(try await get(client, "/v1/releases/99/recommendations", as: acme).errorCode == "release_not_found")
            #expect(try await client.execute(uri: "/v1/releases/latest/recommendations", method: .get).status == .unauthorized)
        }
    }
}
