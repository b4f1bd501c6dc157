import ClearinghouseCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Nothing row-level leaves the daemon")
struct PrivacyTests {
    @Test("no uploaded token is in the database file, its WAL, the logs or any response; no person key in logs or responses")
    func noTokensAnywhere() async throws {
        try await TestDaemon.run { client, daemon in
            let people = (0..<200).map { "person-\($0)@example.com" }
            var responses: [String] = []
            for (partner, slice) in [("acme", people[0..<150]), ("globex", people[50..<200])] {
                let key = daemon.keys[partner]!
                responses.append(try await client.upload("/v1/consents", Lines.body(slice.map { Lines.consent($0) }), as: key).text)
                responses.append(try await client.upload(
                    "/v1/signals", Lines.body(slice.map { Lines.signal($0, "tents") }), as: key, contentType: "application/x-ndjson").text)
                // Rejected batches and revocations must not echo tokens either.
                responses.append(try await client.upload(
                    "/v1/signals", Lines.body(slice.prefix(3).map { Lines.signal($0, "Bad Category") }), as: key).text)
                responses.append(try await client.upload(
                    "/v1/revocations", Lines.body(slice.prefix(5).map { Lines.revocation($0) }), as: key).text)
            }
            let stats = try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds())
            #expect(stats.personsAtSeveralPartners == 95)

            var stored = Data()
            for suffix in ["", "-wal", "-shm"] {
                stored.append((try? Data(contentsOf: URL(fileURLWithPath: daemon.settings.databasePath + suffix))) ?? Data())
            }
            #expect(stored.count > 100_000)
            let logs = daemon.logText
            #expect(logs.contains("batch stored"))
            let texts = [logs] + responses
            for person in people {
                let token = Lines.token(person)
                let tokenBytes = Data(Hex.decode(token)!)
                #expect(stored.range(of: Data(token.utf8)) == nil)
                #expect(stored.range(of: Data(token.uppercased().utf8)) == nil)
                #expect(stored.range(of: tokenBytes) == nil)
                let personKey = daemon.runtime.deriver.personKey(kid: "k1", token: Hex.decode(token)!)
                let keyHex = Hex.encode(personKey.bytes)
                for text in texts {
                    #expect(!text.contains(token) && !text.lowercased().contains(keyHex))
                }
            }
            // Sanity check of the scan itself: the person keys are in the database, as designed.
            let firstKey = daemon.runtime.deriver.personKey(kid: "k1", token: Hex.decode(Lines.token(people[100]))!)
            #expect(stored.range(of: Data(firstKey.bytes)) != nil)
        }
    }
}

@Suite("Erasure leaves no copy")
struct ErasureTests {
    @Test("after a revocation the person key bytes are gone from the database file and its WAL")
    func personKeyGoneFromFiles() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!, globex = daemon.keys["globex"]!
            let people = (0..<300).map { "erasure-\($0)@example.com" }
            _ = try await client.upload("/v1/consents", Lines.body(people.map { Lines.consent($0) }), as: acme)
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent(people[1])]), as: globex)
            _ = try await client.upload("/v1/signals", Lines.body(people.map { Lines.signal($0, "tents") }), as: acme)
            let key = { (person: String) in Data(daemon.runtime.deriver.personKey(kid: "k1", token: Hex.decode(Lines.token(person))!).bytes) }
            func files() -> Data {
                let base = daemon.settings.databasePath
                return [base, base + "-wal"].compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
            }
            #expect(files().range(of: key(people[0])) != nil, "the key is stored before the revocation")

            let revoked = try await client.upload(
                "/v1/revocations", Lines.body([Lines.revocation(people[0]), Lines.revocation(people[1])]), as: acme)
            #expect(revoked.int("revoked") == 2)
            let after = files()
            #expect(after.range(of: key(people[0])) == nil, "no partner holds people[0]: its key is gone from the file and WAL")
            #expect(after.range(of: key(people[1])) != nil, "globex still holds people[1]: its key stays")
            #expect(after.range(of: key(people[2])) != nil)
            let walSize = (try? FileManager.default.attributesOfItem(atPath: daemon.settings.databasePath + "-wal")[.size] as? Int) ?? 0
            #expect(walSize == 0, "the WAL was checkpointed and truncated")
        }
    }
}
