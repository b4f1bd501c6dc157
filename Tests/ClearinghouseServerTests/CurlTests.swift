import ClearinghouseCore
import Foundation
import HummingbirdTesting
import Testing

/// Partners script with curl; these tests use the real curl binary against the live daemon.
@Suite("Uploads with real curl")
struct CurlTests {
    struct CurlResult {
        let status: Int
        let body: String
        let verbose: String
    }

    static func curl(port: Int, path: String, key: String, file: String, extraArguments: [String] = []) async throws -> CurlResult {
        let output = NSTemporaryDirectory() + "curl-out-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try await ChildProcess.run(
            "/usr/bin/curl",
            [
                "-sS", "-v", "-o", output, "-w", "%{http_code}", "-H", "Authorization: Bearer \(key)",
                "-H", "Content-Type: application/x-ndjson", "--data-binary", "@\(file)",
            ] + extraArguments + ["http://127.0.0.1:\(port)\(path)"])
        let body = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return CurlResult(
            status: Int(String(decoding: result.stdout, as: UTF8.self)) ?? -1, body: body,
            verbose: String(decoding: result.stderr, as: UTF8.self))
    }

    /// Writes `count` signal lines for consented persons to a file over 1 MB (so curl sends Expect).
    static func signalFile(count: Int) throws -> String {
        let path = NSTemporaryDirectory() + "signals-" + UUID().uuidString + ".ndjson"
        let body = Lines.body((0..<count).map { Lines.signal("curl-\($0 % 500)", "category-\($0 % 40)") })
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a multi-megabyte upload gets 100 Continue and is stored whole")
    func expectContinue() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload("/v1/consents", Lines.body((0..<500).map { Lines.consent("curl-\($0)") }), as: acme)
            let file = try Self.signalFile(count: 20_000)
            defer { try? FileManager.default.removeItem(atPath: file) }
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int > 2_000_000)
            let result = try await Self.curl(port: client.port!, path: "/v1/signals", key: acme, file: file)
            #expect(result.verbose.contains("Expect: 100-continue"))
            #expect(result.verbose.contains("HTTP/1.1 100 Continue"))
            #expect(result.status == 200)
            #expect(result.body.contains(#""accepted":20000"#))
            #expect(try daemon.count("SELECT COUNT(*) FROM signal") == 20_000)
        }
    }

    @Test("a declared length over the limit gets 413 without 100 Continue; a chunked body is counted as it streams")
    func oversized() async throws {
        var limits = IngestLimits()
        limits.maxBodyBytes = 1_500_000
        try await TestDaemon.run(limits: limits) { client, daemon in
            let acme = daemon.keys["acme"]!
            let file = try Self.signalFile(count: 20_000)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let declared = try await Self.curl(port: client.port!, path: "/v1/signals", key: acme, file: file)
            #expect(declared.status == 413)
            #expect(!declared.verbose.contains("HTTP/1.1 100 Continue"))
            #expect(declared.body.contains("body_too_large"))
            let chunked = try await Self.curl(
                port: client.port!, path: "/v1/signals", key: acme, file: file, extraArguments: ["-H", "Transfer-Encoding: chunked"])
            #expect(chunked.status == 413)
            #expect(chunked.body.contains("body_too_large"))
            #expect(try daemon.count("SELECT COUNT(*) FROM batch") == 0)
            // The daemon still serves after refusing.
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
        }
    }
}
