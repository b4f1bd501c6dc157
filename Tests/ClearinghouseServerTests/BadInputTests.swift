import ClearinghouseCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// One malformed request and the answer it must get.
struct BadRequestCase: Sendable, CustomTestStringConvertible {
    let name: String
    let path: String
    let contentType: String?
    let headers: [String: String]
    let body: String
    let status: HTTPResponse.Status
    let code: String
    /// For line errors: the line and field the first error must name.
    let line: Int?
    let field: String?

    init(
        _ name: String, path: String = "/v1/signals", contentType: String? = "application/x-ndjson", headers: [String: String] = [:],
        body: String, status: HTTPResponse.Status = .badRequest, code: String = "invalid_lines", line: Int? = nil, field: String? = nil
    ) {
        self.name = name
        self.path = path
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.status = status
        self.code = code
        self.line = line
        self.field = field
    }

    var testDescription: String { name }

    static let token = Lines.token("bad-input-person")
    static let good = Lines.signal("bad-input-person", "tents")
    static func withGood(_ line: String) -> String { Lines.body([good, good, line, good]) }

    static let all: [BadRequestCase] = [
        .init("bad JSON", body: withGood(#"{"token": "#), line: 3),
        .init("bad CSV (unclosed quote)", contentType: "text/csv", body: "token,kid,category,observed_at\n\"\(token),k1,tents,2026-11-01T10:00:00Z\n", line: 2),
        .init("bad hex", body: withGood(good.replacingOccurrences(of: token, with: String(token.dropLast()) + "z")), line: 3, field: "token"),
        .init("wrong token length", body: withGood(good.replacingOccurrences(of: token, with: String(token.prefix(40)))), line: 3, field: "token"),
        .init("unknown field", body: withGood(good.replacingOccurrences(of: "}", with: #","colour":"red"}"#)), line: 3),
        .init("missing field", body: withGood(good.replacingOccurrences(of: #","category":"tents""#, with: "")), line: 3, field: "category"),
        .init("bad timestamp", body: withGood(good.replacingOccurrences(of: "2026-11-01T10:00:00Z", with: "01/11/2026")), line: 3, field: "observed_at"),
        .init("negative weight", body: withGood(good.replacingOccurrences(of: #""weight":1.0"#, with: #""weight":-2"#)), line: 3, field: "weight"),
        .init("non-finite weight", body: withGood(good.replacingOccurrences(of: #""weight":1.0"#, with: #""weight":1e400"#)), line: 3, field: "weight"),
        .init("over-long category", body: withGood(good.replacingOccurrences(of: "tents", with: String(repeating: "t", count: 65))), line: 3, field: "category"),
        .init("duplicate CSV header", contentType: "text/csv", body: "token,kid,category,category,observed_at\n", line: 1, field: "category"),
        .init("consent line sent as signal", body: Lines.body([Lines.consent("x")]), line: 1, field: "purposes"),
        .init("empty body", body: "", code: "empty_body"),
        .init("only blank lines", body: "\n\n  \n", code: "empty_body"),
        .init("missing content type", contentType: nil, body: good, status: .unsupportedMediaType, code: "unsupported_media_type"),
        .init("wrong content type", contentType: "application/json", body: good, status: .unsupportedMediaType, code: "unsupported_media_type"),
        .init("unsupported charset", contentType: "text/csv; charset=latin1", body: good, status: .unsupportedMediaType, code: "unsupported_media_type"),
        .init("unsupported encoding", headers: ["Content-Encoding": "br"], body: good, status: .unsupportedMediaType, code: "unsupported_media_type"),
        .init("bad gzip", headers: ["Content-Encoding": "gzip"], body: good, code: "bad_gzip"),
        .init("line too long", body: withGood(String(repeating: " ", count: 10_000) + good), line: 3),
        .init("too many lines", body: Lines.body([String](repeating: good, count: 101)), status: .contentTooLarge, code: "too_many_lines"),
        .init("body too large", body: Lines.body([String](repeating: good, count: 200)), status: .contentTooLarge, code: "body_too_large"),
        .init("unknown purpose", path: "/v1/consents", body: Lines.consent("x").replacingOccurrences(of: "affinity", with: "ads"), line: 1, field: "purposes"),
        .init("unknown token profile", headers: ["Token-Profile": "email-v2"], body: good, code: "unknown_token_profile"),
        .init("revocation with extra field", path: "/v1/revocations", body: Lines.signal("x", "tents"), line: 1, field: "category"),
    ]
}

@Suite("Bad input is rejected whole, clearly, and stores nothing")
struct BadInputTests {
    static var limits: IngestLimits {
        var limits = IngestLimits()
        limits.maxBodyBytes = 20_000
        limits.maxLinesPerBatch = 100
        return limits
    }

    @Test("each malformed request", arguments: BadRequestCase.all)
    func rejected(_ bad: BadRequestCase) async throws {
        try await TestDaemon.run(limits: Self.limits) { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("bad-input-person")]), as: acme)
            let batchesBefore = try daemon.count("SELECT COUNT(*) FROM batch")
            var headers: HTTPFields = [:]
            for (name, value) in bad.headers { headers[HTTPField.Name(name)!] = value }
            let response = try await client.upload(bad.path, bad.body, as: acme, contentType: bad.contentType, headers: headers)
            #expect(response.status == bad.status)
            #expect(response.errorCode == bad.code)
            let message = ((response.json["error"] as? [String: Any])?["message"] as? String) ?? ""
            #expect(message.count > 20, "the message says what to do")
            if let line = bad.line {
                let first = try #require(response.lineErrors.first)
                #expect((first["line"] as? NSNumber)?.intValue == line)
                #expect(first["field"] as? String == bad.field)
                #expect(!(first["problem"] as? String ?? "").isEmpty && !(first["fix"] as? String ?? "").isEmpty)
            }
            #expect(!response.text.contains(BadRequestCase.token))
            // Nothing stored: no new batch, no signal.
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == batchesBefore)
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 0)
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 1)
        }
    }

    @Test("an upload made with a profile the consortium does not pin, or naming none when one is required, is refused before it is read")
    func tokenProfileMismatch() async throws {
        let emailOnly = try PinnedProfiles.parse("email-v1", required: true).get()
        try await TestDaemon.run(tokenProfiles: emailOnly) { client, daemon in
            let acme = daemon.keys["acme"]!
            let consent = Lines.body([Lines.consent("profile-person")])
            let phone = try await client.upload("/v1/consents", consent, as: acme, headers: [HTTPField.Name("Token-Profile")!: "phone-e164-v1"])
            #expect(phone.status == .badRequest)
            #expect(phone.errorCode == "token_profile_mismatch")
            #expect(phone.text.contains("email-v1"), "the answer names the pinned profile")
            let none = try await client.upload("/v1/consents", consent, as: acme)
            #expect(none.errorCode == "token_profile_required")
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 0)
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 0)
            let email = try await client.upload("/v1/consents", consent, as: acme, headers: [HTTPField.Name("Token-Profile")!: "email-v1"])
            #expect(email.status == .ok)
            #expect(try daemon.count("SELECT COUNT(*) FROM consent") == 1)
        }
    }
}
