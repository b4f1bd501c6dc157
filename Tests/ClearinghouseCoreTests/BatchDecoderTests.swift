import Crypto
import Foundation
import Testing

@testable import ClearinghouseCore

@Suite("Batch decoder")
struct BatchDecoderTests {
    let deriver = PersonKeyDeriver(pepper: SymmetricKey(data: [UInt8](repeating: 9, count: 32)))
    let now = RFC3339.parseMilliseconds("2026-11-23T12:00:00Z")!
    let spool = try! TemporaryDirectory()

    func decode(
        _ kind: BatchKind, _ format: BodyFormat, _ body: String, gzipped: [UInt8]? = nil,
        limits: IngestLimits = IngestLimits(), chunk: Int = 4096
    ) throws(BatchDecoder.Rejection) -> DecodedBatch {
        let decoder = BatchDecoder(
            kind: kind, format: format, gzip: gzipped != nil, limits: limits, deriver: deriver, now: now, spoolDirectory: spool.path)
        let bytes = gzipped ?? Array(body.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            try withBytes(of: Array(bytes[start..<end])) { (buffer) throws(BatchDecoder.Rejection) in try decoder.feed(buffer) }
            start = end
        }
        return try decoder.finish()
    }

    func key(_ identifier: String, kid: String = "k1") -> [UInt8] {
        deriver.personKey(kid: kid, token: TestTokens.bytes(identifier)).bytes
    }

    func signals(_ batch: DecodedBatch) throws -> [String] {
        var out: [String] = []
        try batch.forEachSignal { signal in
            out.append("\(Hex.encode(signal.personKey)) \(batch.categories[signal.categoryIndex]) \(signal.weight) \(signal.observedAt)")
        }
        return out
    }

    /// The single line error of a rejected batch.
    func lineError(_ kind: BatchKind, _ format: BodyFormat, _ body: String) -> LineError? {
        do {
            _ = try decode(kind, format, body)
            return nil
        } catch {
            guard case .invalidLines(let lines) = error, lines.count == 1 else { return nil }
            return lines[0]
        }
    }

    @Test("NDJSON and CSV of the same signals decode to the same records, keyed by person key")
    func formatsAgree() async throws {
        let alice = TestTokens.hex("alice@example.com")
        let bob = TestTokens.hex("bob@example.com").uppercased()
        let ndjson = """
            {"token":"\(alice)","kid":"k1","category":"running-shoes","weight":2,"observed_at":"2026-11-01T10:00:00Z"}
            {"observed_at":"2026-11-01T11:00:00+01:00","category":"tents","kid":"k1","token":"\(bob)"}
            """
        let csv = "\u{FEFF}token,kid,category,weight,observed_at\r\n\(alice),k1,running-shoes,2,2026-11-01T10:00:00Z\r\n\(bob),k1,tents,,2026-11-01T10:00:00Z\r\n"
        let fromJSON = try decode(.signals, .ndjson, ndjson, chunk: 7)
        #expect(!fromJSON.spilledToDisk)
        let fromCSV = try decode(.signals, .csv, csv, chunk: 11)
        #expect(fromJSON.received == 2 && fromCSV.received == 2)
        let expected = [
            "\(Hex.encode(key("alice@example.com"))) running-shoes 2.0 1793527200000",
            "\(Hex.encode(key("bob@example.com"))) tents 1.0 1793527200000",
        ]
        #expect(try signals(fromJSON) == expected)
        #expect(try signals(fromCSV) == expected)
        #expect(fromJSON.bodyDigest == Array(SHA256.hash(data: Array(ndjson.utf8))))
        let zipped = try decode(.signals, .ndjson, "", gzipped: try await gzip(Array(ndjson.utf8)), chunk: 5)
        #expect(try signals(zipped) == expected)
    }

    @Test("consents and revocations carry their fields")
    func consentsAndRevocations() throws {
        let token = TestTokens.hex("carol@example.com")
        let batch = try decode(
            .consents, .ndjson,
            #"{"token":"\#(token)","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01T00:00:00Z","proof":"cmp:42"}"#
                + "\n" + #"{"token":"\#(token)","kid":"k2","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z","expires_at":null}"#)
        var seen: [String] = []
        try batch.forEachConsent { consent in
            seen.append("\(consent.purposes) \(consent.grantedAt) \(consent.expiresAt.map(String.init) ?? "-") \(String(decoding: consent.proof, as: UTF8.self))")
        }
        #expect(seen == ["1 1767225600000 1798761600000 cmp:42", "1 1767225600000 - "])
        let revocations = try decode(.revocations, .csv, "kid,token\nk1,\(token)\n")
        var keys: [[UInt8]] = []
        try revocations.forEachRevocation { keys.append(Array($0.personKey)) }
        #expect(keys == [key("carol@example.com")])
    }

    @Test("records spill to an unlinked file past the memory limit and read back in order")
    func spill() throws {
        let lines = (0..<30_000).map { index in
            #"{"token":"\#(TestTokens.hex("p\(index)"))","kid":"k1","category":"c\#(index % 7)","observed_at":"2026-11-01T10:00:00Z"}"#
        }
        var limits = IngestLimits()
        limits.spoolMemoryBytes = 100_000
        let batch = try decode(.signals, .ndjson, lines.joined(separator: "\n"), limits: limits, chunk: 65_536)
        #expect(batch.spilledToDisk)
        let decoded = try signals(batch)
        #expect(decoded.count == 30_000)
        #expect(decoded[29_999].hasPrefix(Hex.encode(key("p29999"))))
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).isEmpty)
    }

    static let token = TestTokens.hex("dave@example.com")
    static let good = #"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#

    @Test(
        "each kind of bad line is rejected with its line number and field",
        arguments: [
            (#"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z""#, nil as String?),
            (#"{"token":"\#(token.dropLast())","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#, "token"),
            (#"{"token":"\#(token.dropLast())g","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#, "token"),
            (#"{"token":1,"kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#, "token"),
            (#"{"token":"\#(token)","kid":"k 1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#, "kid"),
            (#"{"token":"\#(token)","kid":"k1","category":"Tents","observed_at":"2026-11-01T10:00:00Z"}"#, "category"),
            (#"{"token":"\#(token)","kid":"k1","category":"\#(String(repeating: "a", count: 65))","observed_at":"2026-11-01T10:00:00Z"}"#, "category"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01"}"#, "observed_at"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2099-11-01T10:00:00Z"}"#, "observed_at"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","weight":-1,"observed_at":"2026-11-01T10:00:00Z"}"#, "weight"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","weight":0,"observed_at":"2026-11-01T10:00:00Z"}"#, "weight"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","weight":1e999,"observed_at":"2026-11-01T10:00:00Z"}"#, "weight"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","weight":"2","observed_at":"2026-11-01T10:00:00Z"}"#, "weight"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents"}"#, "observed_at"),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z","colour":"red"}"#, nil),
            (#"{"token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z","purposes":[]}"#, "purposes"),
            (#"{"token":"\#(token)","token":"\#(token)","kid":"k1","category":"tents","observed_at":"2026-11-01T10:00:00Z"}"#, "token"),
        ])
    func badSignalLine(line: String, field: String?) throws {
        let error = try #require(lineError(.signals, .ndjson, Self.good + "\n\n" + line + "\n" + Self.good))
        #expect(error.line == 3)
        #expect(error.field == field)
        #expect(!error.fix.isEmpty)
        // Messages never quote a token.
        #expect(!error.problem.contains(Self.token.prefix(16)) && !error.fix.contains(Self.token.prefix(16)))
    }

    @Test("bad consent lines: unknown purpose, empty purposes, expiry before grant, over-long proof")
    func badConsentLines() throws {
        let token = Self.token
        let cases: [(String, String)] = [
            (#"{"token":"\#(token)","kid":"k1","purposes":["ads"],"granted_at":"2026-01-01T00:00:00Z"}"#, "purposes"),
            (#"{"token":"\#(token)","kid":"k1","purposes":[],"granted_at":"2026-01-01T00:00:00Z"}"#, "purposes"),
            (#"{"token":"\#(token)","kid":"k1","purposes":"affinity","granted_at":"2026-01-01T00:00:00Z"}"#, "purposes"),
            (#"{"token":"\#(token)","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z","expires_at":"2025-01-01T00:00:00Z"}"#, "expires_at"),
            (#"{"token":"\#(token)","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z","proof":"\#(String(repeating: "p", count: 257))"}"#, "proof"),
            (#"{"token":"\#(token)","kid":"k1","purposes":["affinity"]}"#, "granted_at"),
        ]
        for (line, field) in cases {
            let error = try #require(lineError(.consents, .ndjson, line))
            #expect(error.line == 1 && error.field == field, "\(line)")
        }
    }

    @Test("CSV: duplicate or unknown header columns and short rows are rejected at their line")
    func badCSV() throws {
        let token = Self.token
        #expect(lineError(.signals, .csv, "token,kid,kid,observed_at\n")?.line == 1)
        #expect(lineError(.signals, .csv, "token,kid,categry,observed_at\n")?.line == 1)
        let short = try #require(lineError(.signals, .csv, "token,kid,category,observed_at\n\(token),k1,tents,2026-11-01T10:00:00Z\n\(token),k1\n"))
        #expect(short.line == 3)
    }

    @Test("whole-body failures: empty, too large, too many lines, long line, bad gzip; errors are capped")
    func bodyFailures() {
        #expect(throws: BatchDecoder.Rejection.empty) { try decode(.signals, .ndjson, "") }
        #expect(throws: BatchDecoder.Rejection.empty) { try decode(.signals, .ndjson, "\n \n") }
        var limits = IngestLimits()
        limits.maxBodyBytes = 1000
        #expect(throws: BatchDecoder.Rejection.bodyTooLarge(limit: 1000)) {
            try decode(.signals, .ndjson, String(repeating: Self.good + "\n", count: 20), limits: limits)
        }
        limits = IngestLimits()
        limits.maxLinesPerBatch = 3
        #expect(throws: BatchDecoder.Rejection.tooManyLines(limit: 3)) {
            try decode(.signals, .ndjson, String(repeating: Self.good + "\n", count: 4), limits: limits)
        }
        limits = IngestLimits()
        limits.maxLineBytes = 256
        #expect(throws: BatchDecoder.Rejection.self) { try decode(.signals, .ndjson, String(repeating: "x", count: 10_000)) }
        let decoder = BatchDecoder(
            kind: .signals, format: .ndjson, gzip: true, limits: IngestLimits(), deriver: deriver, now: now, spoolDirectory: spool.path)
        #expect(throws: BatchDecoder.Rejection.self) {
            try withBytes(of: Array("plain text".utf8)) { (buffer) throws(BatchDecoder.Rejection) in try decoder.feed(buffer) }
            _ = try decoder.finish()
        }
        do {
            _ = try decode(.signals, .ndjson, String(repeating: "{}\n", count: 100))
            Issue.record("expected a rejection")
        } catch {
            guard case .invalidLines(let lines) = error else { return #expect(Bool(false)) }
            #expect(lines.count == IngestLimits().maxErrorsReported)
            #expect(lines.map(\.line) == Array(1...20))
        }
    }
}
