import Foundation
import Testing

/// `clearinghouse salt new` and `clearinghouse token`, run as the real binary.
@Suite("Salt and token commands")
struct TokenCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("token reproduces every shared test vector line by line, refusing invalid ones on stderr without echoing them")
    func tokenMatchesVectors() async throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("spec/token-vectors.json"))) as? [String: Any])
        let vectors = try #require(document["vectors"] as? [[String: String]])
        let directory = NSTemporaryDirectory() + "clearinghouse-token-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let saltPath = directory + "/test.salt"
        let saltJSON = #"{"format":"clearinghouse-salt-v1","kid":"\#(document["kid"]!)","salt":"\#(document["salt_hex"]!)","created_at":"x"}"#
        FileManager.default.createFile(atPath: saltPath, contents: Data(saltJSON.utf8), attributes: [.posixPermissions: 0o600])

        for profile in ["email-v1", "phone-e164-v1"] {
            let cases = vectors.filter { $0["profile"] == profile && !$0["input"]!.contains("\n") }
            let input = directory + "/\(profile).txt"
            try Data(cases.map { $0["input"]! + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: input))
            let result = try await ChildProcess.run(DaemonProcess.binary, ["token", "--salt-file", saltPath, "--profile", profile], stdinFile: input)
            let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == cases.count)
            for (vector, line) in zip(cases, lines) {
                #expect(String(line) == (vector["token"] ?? ""), "\(profile) \(vector["input"]!.debugDescription)")
            }
            let errors = String(decoding: result.stderr, as: UTF8.self)
            let refused = cases.filter { $0["error"] != nil }
            #expect(result.status == (refused.isEmpty ? 0 : 1))
            for vector in refused { #expect(errors.contains(vector["error"]!)) }
            for vector in refused where vector["input"]!.count > 3 { #expect(!errors.contains(vector["input"]!)) }
        }
    }

    @Test("salt new makes a 0600 file that token reads, refuses to overwrite, and refuses a bad kid")
    func saltNew() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-salt-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/consortium.salt"
        let made = try await DaemonProcess.admin(["salt", "new", "--kid", "2026-q4", "--out", path])
        #expect(made.status == 0)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let again = try await DaemonProcess.admin(["salt", "new", "--kid", "2026-q4", "--out", path])
        #expect(again.status != 0 && again.errors.contains("never overwritten"))
        let badKid = try await DaemonProcess.admin(["salt", "new", "--kid", "bad kid", "--out", directory + "/other"])
        #expect(badKid.status != 0 && !FileManager.default.fileExists(atPath: directory + "/other"))

        let input = directory + "/ids.txt"
        try Data("Jane.Doe@GMAIL.com\njanedoe@gmail.com\n".utf8).write(to: URL(fileURLWithPath: input))
        let tokens = try await ChildProcess.run(DaemonProcess.binary, ["token", "--salt-file", path, "--profile", "email-v1", "--with-kid"], stdinFile: input)
        let lines = String(decoding: tokens.stdout, as: UTF8.self).split(separator: "\n")
        #expect(tokens.status == 0 && lines.count == 2 && lines[0] == lines[1] && lines[0].hasPrefix("2026-q4,") && lines[0].count == 8 + 64)
    }
}
