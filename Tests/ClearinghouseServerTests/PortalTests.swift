import ClearinghouseCore
import ClearinghouseServer
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

/// Read keys and the portal's sessions over HTTP, without a browser (scripts/tests/test_portal.py
/// drives the pages in Chromium): what a read key may do, how sign-in is limited, when a session
/// ends, and that no page or log carries a key, a session token or a customer's token.
@Suite("Portal and read keys")
struct PortalTests {
    /// "Now" that a test moves by hand (session expiry).
    final class Clock: Sendable {
        private let now = Mutex<Int64>(WallClock.nowMilliseconds())
        var value: Int64 { now.withLock { $0 } }
        func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }
    }

    /// A browser's sign-in: the form's nonce cookie, then the posted key; the session cookie or the refusal.
    struct SignIn {
        let response: TestResponse
        var session: String? {
            response.headers[values: .setCookie].first { $0.hasPrefix("clearinghouse_portal=") && !$0.contains("Max-Age=0") }
                .map { String($0.split(separator: ";")[0]) }
        }
    }

    /// `over`: a session cookie the browser still holds while it signs in again.
    static func signIn(_ client: any TestClientProtocol, key: String, over session: String? = nil) async throws -> SignIn {
        let form = try await client.execute(uri: "/portal/sign-in", method: .get)
        let nonceCookie = try #require(form.headers[values: .setCookie].first { $0.hasPrefix("clearinghouse_portal_signin=") })
        let nonce = String(nonceCookie.split(separator: ";")[0].split(separator: "=")[1])
        #expect(form.text.contains("value=\"\(nonce)\""), "the form carries the nonce its cookie holds")
        let body = "key=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key)&csrf=\(nonce)"
        let response = try await client.execute(
            uri: "/portal/sign-in", method: .post,
            headers: [
                .contentType: "application/x-www-form-urlencoded",
                .cookie: "clearinghouse_portal_signin=\(nonce)" + (session.map { "; " + $0 } ?? ""),
            ],
            body: ByteBuffer(string: body))
        return SignIn(response: response)
    }

    static func page(_ client: any TestClientProtocol, _ path: String, session: String?) async throws -> TestResponse {
        try await client.execute(uri: path, method: .get, headers: session.map { [.cookie: $0] } ?? [:])
    }

    @Test("a read key GETs what its partner may and is refused every write with 403 read_only_key", arguments: TestStorage.available)
    func readKeyRole(_ storage: TestStorage) async throws {
        try await TestDaemon.run(partners: ["acme"], storage: storage) { client, daemon in
            let added = try await daemon.admin(["partner", "add-key", "acme", "--role", "read", "--label", "Dashboards", "--format", "json"])
            #expect(added.status == 0, "\(added.errors)")
            let answer = try JSONSerialization.jsonObject(with: Data(added.output.utf8)) as? [String: String] ?? [:]
            let read = try #require(answer["api_key"])
            #expect(answer["role"] == "read" && answer["label"] == "Dashboards")

            let listing = try await daemon.admin(["partner", "keys", "acme"])
            #expect(listing.output.contains(answer["key_id"]!) && listing.output.contains("Dashboards"))
            #expect(!listing.output.contains(read) && !listing.output.contains(APIKey.parse(Substring(read))!.secret))

            #expect(try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(read)"]).status == .ok)
            #expect(try await client.execute(uri: "/v1/budget", method: .get, headers: [.authorization: "Bearer \(read)"]).status == .ok)
            for path in ["/v1/consents", "/v1/signals", "/v1/revocations"] {
                let refused = try await client.upload(path, Lines.body([Lines.consent("someone")]), as: read)
                #expect(refused.status == .forbidden && refused.errorCode == "read_only_key", "\(path)")
                #expect(refused.text.contains("upload key"))
            }
            #expect(try await daemon.runtime.store.stats(at: WallClock.nowMilliseconds()).liveConsents == 0, "a refused write stores nothing")
            // The upload key still writes.
            #expect(try await client.upload("/v1/consents", Lines.body([Lines.consent("someone")]), as: daemon.keys["acme"]!).status == .ok)

            let revoked = try await daemon.admin(["partner", "revoke-key", "acme", answer["key_id"]!])
            #expect(revoked.status == 0, "\(revoked.errors)")
            #expect(try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(read)"]).status == .unauthorized)
            let again = try await daemon.admin(["partner", "revoke-key", "acme", answer["key_id"]!])
            #expect(again.status != 0 && again.errors.contains("partner keys acme"), "\(again.errors)")
        }
    }

    @Test("sign-in: a read key gets a session, an upload key and a bad key are refused, and every refusal counts against the address")
    func signInAndLimits() async throws {
        let limits = RateLimits(
            writes: .init(rate: 1000, burst: 1000), reads: .init(rate: 1000, burst: 1000),
            authenticationFailures: .init(rate: 0.001, burst: 3))
        try await TestDaemon.run(partners: ["acme"], rateLimits: limits) { client, daemon in
            let read = APIKey.generate()
            try await daemon.runtime.store.addKey(partner: PartnerID("acme")!, key: read, role: .read, label: nil, at: WallClock.nowMilliseconds())

            let good = try await Self.signIn(client, key: read.text)
            #expect(good.response.status == .seeOther && good.response.headers[.location] == "/portal/overview")
            let cookie = try #require(good.response.headers[values: .setCookie].first { $0.hasPrefix("clearinghouse_portal=") })
            for flag in ["HttpOnly", "SameSite=Strict", "Path=/portal", "Max-Age=1800"] { #expect(cookie.contains(flag)) }
            #expect(!cookie.contains("Secure"), "plain HTTP: the TLS test checks Secure")
            let overview = try await Self.page(client, "/portal/overview", session: good.session)
            #expect(overview.status == .ok && overview.text.contains("Signed in as <strong id=\"signed-in-partner\">acme</strong>"))

            let upload = try await Self.signIn(client, key: daemon.keys["acme"]!)
            #expect(upload.response.status == .forbidden && upload.session == nil)
            #expect(upload.response.text.contains("upload key"))
            let bad = try await Self.signIn(client, key: "chk_000000000000_" + String(repeating: "A", count: 43))
            #expect(bad.response.status == .forbidden && bad.session == nil)
            let malformed = try await Self.signIn(client, key: "not a key")
            #expect(malformed.response.status == .forbidden && malformed.response.text.contains("chk_"))
            // Three failures spent the burst: the next sign-in and the API both answer 429 to this address.
            let limited = try await Self.signIn(client, key: read.text)
            #expect(limited.response.status == .tooManyRequests && limited.session == nil)
            #expect(limited.response.headers[.retryAfter] != nil)
            let api = try await client.execute(uri: "/v1/releases", method: .get, headers: [.authorization: "Bearer \(read.text)"])
            #expect(api.status == .tooManyRequests && api.errorCode == "too_many_failed_authentications")

            // Nothing secret in the log: no key, no session token.
            let token = try #require(good.session?.split(separator: "=").last.map(String.init))
            for entry in daemon.logs.entries {
                let line = "\(entry.message) \(entry.metadata ?? [:])"
                #expect(!line.contains(read.secret) && !line.contains(token) && !line.contains(daemon.keys["acme"]!))
            }
        }
    }

    @Test("a session ends when it expires, when its key is revoked, when the partner is disabled, and at sign-out", arguments: TestStorage.available)
    func sessionEnds(_ storage: TestStorage) async throws {
        let clock = Clock()
        try await TestDaemon.run(partners: ["acme"], storage: storage, clock: { clock.value }) { client, daemon in
            let store = daemon.runtime.store
            let read = APIKey.generate()
            try await store.addKey(partner: PartnerID("acme")!, key: read, role: .read, label: nil, at: clock.value)
            func signedIn(_ session: String?) async throws -> Bool {
                let answer = try await Self.page(client, "/portal/overview", session: session)
                if answer.status == .seeOther { #expect(answer.headers[.location] == "/portal/sign-in") }
                return answer.status == .ok
            }

            let expiring = try await Self.signIn(client, key: read.text).session
            #expect(try await signedIn(expiring))
            // A dead cookie is cleared on the way to the sign-in page.
            let dead = try await Self.page(client, "/portal/overview", session: "clearinghouse_portal=" + String(repeating: "y", count: 43))
            #expect(dead.status == .seeOther && dead.headers[values: .setCookie].contains { $0.hasPrefix("clearinghouse_portal=;") })
            clock.advance(milliseconds: 29 * 60_000)
            #expect(try await signedIn(expiring))
            clock.advance(milliseconds: 61_000)
            #expect(try await !signedIn(expiring), "30 minutes (portal.session_minutes) after sign-in")

            let revoked = try await Self.signIn(client, key: read.text).session
            #expect(try await signedIn(revoked))
            let second = APIKey.generate()
            try await store.addKey(partner: PartnerID("acme")!, key: second, role: .read, label: nil, at: clock.value)
            let other = try await Self.signIn(client, key: second.text).session
            try await store.revokeKey(partner: PartnerID("acme")!, keyID: read.keyID, at: clock.value)
            #expect(try await !signedIn(revoked))
            #expect(try await signedIn(other), "revoking one key leaves the others' sessions")

            // Sign-out needs the session's CSRF token; without it the session stays.
            let page = try await Self.page(client, "/portal/overview", session: other)
            let csrf = try #require(page.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: other!]
            let refused = try await client.execute(uri: "/portal/sign-out", method: .post, headers: form, body: ByteBuffer(string: "csrf=00"))
            #expect(refused.status == .forbidden)
            #expect(try await signedIn(other))
            let out = try await client.execute(uri: "/portal/sign-out", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(csrf)"))
            #expect(out.status == .seeOther && out.headers[values: .setCookie].contains { $0.contains("Max-Age=0") })
            #expect(try await !signedIn(other))

            let replaced = try await Self.signIn(client, key: second.text).session
            let third = try await Self.signIn(client, key: second.text, over: replaced).session
            #expect(try await signedIn(third))
            #expect(try await !signedIn(replaced), "signing in again ends the session the browser held")
            try await store.disablePartner(PartnerID("acme")!, at: clock.value)
            #expect(try await !signedIn(third))
            // A made-up cookie is no session either.
            #expect(try await !signedIn("clearinghouse_portal=" + String(repeating: "x", count: 43)))
        }
    }

    @Test("pages carry released aggregates only: no customer token, key or session token, whatever the page")
    func pagesCarryNoRowLevelData() async throws {
        try await TestDaemon.run(partners: ["acme", "globex"]) { client, daemon in
            let persons = (0..<400).map { "portal-\($0)" }
            for partner in ["acme", "globex"] {
                let key = daemon.keys[partner]!
                #expect(try await client.upload("/v1/consents", Lines.body(persons.map { Lines.consent($0) }), as: key).status == .ok)
                let signals = persons.indices.map { Lines.signal(persons[$0], ["tents", "boots", "stoves"][$0 % 3]) }
                #expect(try await client.upload("/v1/signals", Lines.body(signals), as: key).status == .ok)
            }
            let service = ReleaseService(store: daemon.runtime.store, settings: daemon.runtime.settings.privacy, budget: PrivacyBudget())
            _ = try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            let read = APIKey.generate()
            try await daemon.runtime.store.addKey(partner: PartnerID("acme")!, key: read, role: .read, label: nil, at: WallClock.nowMilliseconds())
            let session = try #require(try await Self.signIn(client, key: read.text).session)
            let tokens = persons.map { Lines.token($0) }
            for path in ["/portal/overview", "/portal/heatmap", "/portal/surprises", "/portal/exports", "/portal/heatmap?release=1"] {
                let page = try await Self.page(client, path, session: session)
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                let text = page.text
                #expect(!tokens.contains { text.contains($0) }, "\(path) shows a customer's token")
                #expect(!text.contains(read.secret) && !text.contains(session.split(separator: "=")[1]), "\(path)")
            }
            let heatmap = try await Self.page(client, "/portal/heatmap", session: session).text
            #expect(heatmap.contains("data-category=\"tents\""), "acme's pairs are drawn")
        }
    }
}
