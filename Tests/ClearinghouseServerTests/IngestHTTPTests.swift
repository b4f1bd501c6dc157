import ClearinghouseCore
import ClearinghouseSQLite
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Ingest over HTTP")
struct IngestHTTPTests {
    @Test("two partners whose customers overlap: consents, signals, matching and stats")
    func twoPartnersOverlap() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            let globex = daemon.keys["globex"]!
            var response = try await client.upload(
                "/v1/consents", Lines.body(["alice", "bob", "carol"].map { Lines.consent($0) }), as: acme)
            #expect(response.status == .ok)
            #expect(response.int("received") == 3 && response.int("accepted") == 3 && response.int("created") == 3)
            response = try await client.upload(
                "/v1/consents", Lines.body(["bob", "carol", "dave"].map { Lines.consent($0) }), as: globex)
            #expect(response.int("accepted") == 3)

            response = try await client.upload(
                "/v1/signals",
                Lines.body([
                    Lines.signal("alice", "running-shoes"), Lines.signal("bob", "running-shoes", weight: 2),
                    Lines.signal("carol", "tents"), Lines.signal("dave", "tents"),
                ]), as: acme)
            #expect(response.status == .ok)
            #expect(response.int("received") == 4 && response.int("accepted") == 3 && response.int("dropped_no_consent") == 1)
            #expect(response.int("batch_id") != nil && response.json["kind"] as? String == "signals")
            response = try await client.upload(
                "/v1/signals", Lines.body([Lines.signal("bob", "espresso"), Lines.signal("dave", "espresso")]), as: globex)
            #expect(response.int("accepted") == 2)

            let stats = try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds())
            #expect(stats.persons == 4)
            #expect(stats.personsAtSeveralPartners == 2)
            #expect(stats.overlaps == [.init(partners: ["acme", "globex"], persons: 2)])
            #expect(stats.signals == 5)
            #expect(stats.perPartner.map(\.signals) == [3, 2])
            #expect(stats.perPartner.map(\.categories) == [2, 1])
            // Matching happened on person keys: bob's signals at both partners share one person row.
            let shared = try daemon.count("SELECT COUNT(*) FROM (SELECT person_id FROM signal GROUP BY person_id HAVING COUNT(DISTINCT partner_id) = 2)")
            #expect(shared == 1)
        }
    }

    @Test("signals are stored only under live affinity consent of the same partner and kid")
    func consentGating() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload(
                "/v1/consents",
                Lines.body([
                    Lines.consent("live"),
                    Lines.consent("expired", granted: "2025-01-01T00:00:00Z", expires: "2025-06-01T00:00:00Z"),
                    Lines.consent("other-kid", kid: "k2"),
                ]), as: acme)
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("globex-only")]), as: daemon.keys["globex"]!)
            let response = try await client.upload(
                "/v1/signals",
                Lines.body([
                    Lines.signal("live", "tents"), Lines.signal("expired", "tents"), Lines.signal("other-kid", "tents"),
                    Lines.signal("globex-only", "tents"), Lines.signal("nobody", "tents"), Lines.signal("live", "stoves"),
                ]), as: acme)
            #expect(response.int("accepted") == 2)
            #expect(response.int("dropped_no_consent") == 4)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 2)
        }
    }

    @Test("a later consent replaces an earlier one; an older line arriving late does not")
    func laterConsentWins() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload("/v1/consents", Lines.consent("erin", granted: "2026-03-01T00:00:00Z", proof: "march"), as: acme)
            var response = try await client.upload(
                "/v1/consents", Lines.consent("erin", granted: "2026-01-01T00:00:00Z", proof: "january"), as: acme)
            #expect(response.int("superseded") == 1 && response.int("accepted") == 0)
            response = try await client.upload(
                "/v1/consents", Lines.consent("erin", granted: "2026-06-01T00:00:00Z", proof: "june"), as: acme)
            #expect(response.int("replaced") == 1 && response.int("accepted") == 1)
            #expect(try daemon.query { try String.fetchAll($0, sql: "SELECT proof FROM consent") } == ["june"])
        }
    }

    @Test("a revocation erases that partner's consent and signals before answering, and the person key once unused")
    func revocationErases() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            let globex = daemon.keys["globex"]!
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("frank"), Lines.consent("gina")]), as: acme)
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("gina")]), as: globex)
            _ = try await client.upload(
                "/v1/signals", Lines.body([Lines.signal("frank", "tents"), Lines.signal("frank", "stoves"), Lines.signal("gina", "tents")]),
                as: acme)
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("gina", "espresso")]), as: globex)
            #expect(try daemon.count("SELECT COUNT(*) FROM person") == 2)

            let response = try await client.upload(
                "/v1/revocations", Lines.body([Lines.revocation("frank"), Lines.revocation("gina"), Lines.revocation("nobody")]),
                as: acme)
            #expect(response.status == .ok)
            #expect(response.int("revoked") == 2 && response.int("signals_erased") == 3 && response.int("not_found") == 1)
            // Acme holds nothing any more; globex's consent and signal for gina stay.
            #expect(try daemon.count("SELECT COUNT(*) FROM consent WHERE partner_id = (SELECT id FROM partner WHERE slug = 'acme')") == 0)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal WHERE partner_id = (SELECT id FROM partner WHERE slug = 'acme')") == 0)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 1)
            // Frank's person key is gone (no partner holds consent); gina's stays for globex.
            #expect(try daemon.count("SELECT COUNT(*) FROM person") == 1)
            let stats = try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds())
            #expect(stats.perPartner.map(\.categories) == [0, 1], "categories count only those still holding signals")
            let again = try await client.upload("/v1/signals", Lines.body([Lines.signal("frank", "tents")]), as: acme)
            #expect(again.int("dropped_no_consent") == 1)
        }
    }

    @Test("Idempotency-Key: a retry replays the first answer and stores nothing twice; another body is 422")
    func idempotentRetry() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("hana")]), as: acme)
            let body = Lines.body([Lines.signal("hana", "tents"), Lines.signal("hana", "stoves")])
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "nightly-2026-11-23-chunk-1"]
            let first = try await client.upload("/v1/signals", body, as: acme, headers: key)
            let retry = try await client.upload("/v1/signals", body, as: acme, headers: key)
            #expect(first.status == .ok && retry.status == .ok)
            var firstAnswer = try JSONSerialization.jsonObject(with: Data(first.text.utf8)) as! [String: Any]
            var retryAnswer = try JSONSerialization.jsonObject(with: Data(retry.text.utf8)) as! [String: Any]
            #expect(firstAnswer["replayed"] as? Bool == false && retryAnswer["replayed"] as? Bool == true)
            #expect(retryAnswer["accepted_now"] as? Int == 0 && retryAnswer["stored_at"] as? String == firstAnswer["stored_at"] as? String)
            for field in ["replayed", "accepted_now"] {
                firstAnswer[field] = nil
                retryAnswer[field] = nil
            }
            #expect(NSDictionary(dictionary: firstAnswer) == NSDictionary(dictionary: retryAnswer), "the first answer, replayed")
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 2)
            #expect(try daemon.count("SELECT COUNT(*) FROM batch WHERE kind = 'signals'") == 1)

            // The same lines gzip-compressed (by another compressor than the first sender's, if
            // it used one) are the same request: replayed, not a conflict.
            var gzipKey = key
            gzipKey[.contentEncoding] = "gzip"
            let compressed = try await client.upload("/v1/signals", try await gzip(Array(body.utf8)), as: acme, headers: gzipKey)
            #expect(compressed.status == .ok && compressed.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 2)

            let conflict = try await client.upload("/v1/signals", Lines.body([Lines.signal("hana", "tents")]), as: acme, headers: key)
            #expect(conflict.status == .unprocessableContent)
            #expect(conflict.errorCode == "idempotency_conflict")
            // Keys are scoped per partner: globex may use the same key for its own batch.
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("hana")]), as: daemon.keys["globex"]!)
            let other = try await client.upload("/v1/signals", body, as: daemon.keys["globex"]!, headers: key)
            #expect(other.status == .ok && other.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 4)

            let badKey = try await client.upload(
                "/v1/signals", body, as: acme, headers: [HTTPField.Name("Idempotency-Key")!: String(repeating: "k", count: 300)])
            #expect(badKey.status == .badRequest && badKey.errorCode == "bad_idempotency_key")
        }
    }

    @Test("gzip bodies are accepted; corrupt gzip and gzip bombs are refused")
    func gzipBodies() async throws {
        var limits = IngestLimits()
        limits.maxDecodedBytes = 1 << 20
        try await TestDaemon.run(limits: limits) { client, daemon in
            let acme = daemon.keys["acme"]!
            let gzipHeader: HTTPFields = [.contentEncoding: "gzip"]
            let consents = try await gzip(Array(Lines.body((0..<500).map { Lines.consent("z\($0)") }).utf8))
            let stored = try await client.upload("/v1/consents", consents, as: acme, headers: gzipHeader)
            #expect(stored.status == .ok && stored.int("accepted") == 500)

            let corrupt = try await client.upload("/v1/signals", Array("not gzip".utf8), as: acme, headers: gzipHeader)
            #expect(corrupt.status == .badRequest && corrupt.errorCode == "bad_gzip")
            let truncated = try await client.upload("/v1/consents", Array(consents.dropLast(20)), as: acme, headers: gzipHeader)
            #expect(truncated.status == .badRequest && truncated.errorCode == "bad_gzip")
            let bomb = try await gzip([UInt8](repeating: UInt8(ascii: "\n"), count: 50 << 20))
            #expect(bomb.count < 100_000)
            let refused = try await client.upload("/v1/signals", bomb, as: acme, headers: gzipHeader)
            #expect(refused.status == .contentTooLarge && refused.errorCode == "decoded_body_too_large")
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 1)
        }
    }

    @Test("unknown, malformed, rotated and disabled keys all get the same 401")
    func unauthorized() async throws {
        try await TestDaemon.run { client, daemon in
            let body = Lines.body([Lines.consent("ivan")])
            let acme = daemon.keys["acme"]!
            let globex = daemon.keys["globex"]!
            let store = daemon.runtime.store
            let fresh = APIKey.generate()
            try await store.rotateKey(partner: PartnerID("acme")!, key: fresh, at: WallClock.nowMilliseconds())
            try await store.disablePartner(PartnerID("globex")!, at: WallClock.nowMilliseconds())

            var answers: [TestResponse] = []
            for key in [nil, "", "chk_", APIKey.generate().text, acme, globex, String(acme.dropLast()) + "A"] as [String?] {
                answers.append(try await client.upload("/v1/consents", body, as: key))
            }
            var headers: HTTPFields = [.authorization: "Basic dXNlcjpwYXNz", .contentType: "application/x-ndjson"]
            answers.append(try await client.execute(uri: "/v1/consents", method: .post, headers: headers, body: ByteBuffer(string: body)))
            headers[.authorization] = "bearer \(acme)"
            answers.append(try await client.execute(uri: "/v1/consents", method: .post, headers: headers, body: ByteBuffer(string: body)))
            for answer in answers {
                #expect(answer.status == .unauthorized)
                #expect(answer.text == answers[0].text)
                #expect(answer.headers[.wwwAuthenticate] == "Bearer realm=\"clearinghouse\"")
            }
            let ok = try await client.upload("/v1/consents", body, as: fresh.text)
            #expect(ok.status == .ok)
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 1)
            // The failed attempts are logged by key id, never with the secret.
            #expect(!daemon.logText.contains(String(acme.suffix(43))))
        }
    }

    @Test("health and readiness answer without a key", arguments: TestStorage.available)
    func health(_ storage: TestStorage) async throws {
        try await TestDaemon.run(storage: storage) { client, _ in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok && health.json["status"] as? String == "ok")
            #expect(health.json["version"] as? String == ClearinghouseVersion.current)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok && ready.json["status"] as? String == "ready")
            #expect(ready.json["version"] as? String == ClearinghouseVersion.current)
        }
    }

    @Test("the writer connection runs WAL with synchronous=FULL and secure_delete")
    func durabilitySettings() async throws {
        try await TestDaemon.run { _, daemon in
            let store = try #require(daemon.runtime.store as? SQLiteStore)
            #expect(try store.writerPragma("journal_mode") == "wal")
            #expect(try store.writerPragma("synchronous") == "2")
            #expect(try store.writerPragma("secure_delete") == "1")
        }
    }
}
