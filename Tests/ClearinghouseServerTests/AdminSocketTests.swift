import ClearinghouseCore
import Foundation
import Testing

/// `clearinghouse release now` with the daemon running asks it over `admin.sock`, and gives the
/// same release as the command's own scan of the database.
@Suite("release now through the daemon's admin socket")
struct AdminSocketTests {
    func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test("the daemon's release (its columnar copy, then patched by an upload) equals the command's scan, pair for pair")
    func releaseThroughDaemon() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-admin-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let consortium = SyntheticConsortium(partners: ["acme", "globex", "initech"], categories: 4, persons: 1500, plants: [], seed: 9)
        var keys: [String] = []
        for partner in consortium.partners {
            let added = try await DaemonProcess.admin(["partner", "add", partner, "--name", partner, "--data-dir", directory])
            keys.append(try #require(added.output.split(separator: "\n").last.map(String.init)))
        }
        // The daemon counts with k 10; the commands below run with k 12, so a release that says k 10
        // was made by the daemon.
        let daemonSettings = [
            "CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY": "false", "CLEARINGHOUSE_PRIVACY_K": "10", "CLEARINGHOUSE_RELEASE_EVERY": "off",
        ]
        let daemon = try await DaemonProcess.start(dataDirectory: directory, environment: daemonSettings)
        defer { daemon.process.terminate() }
        func upload(_ persons: Range<Int>) async throws {
            for (index, partner) in consortium.partners.enumerated() {
                let members = persons.filter { consortium.memberships[$0].contains(index) }
                let consents = members.map {
                    #"{"token":"\#(Lines.token("admin-\($0)"))","kid":"k1","purposes":["affinity"],"granted_at":"2026-01-01T00:00:00Z"}"#
                }
                let consented = try await TwoDaemonTests.post(daemon.port, "/v1/consents", consents.joined(separator: "\n"), key: keys[index])
                #expect(consented.status == "200")
                let signals = consortium.signals.filter { $0.partner == index && persons.contains($0.person) }.map {
                    Lines.signal("admin-\($0.person)", SyntheticConsortium.categoryName($0.category), weight: $0.weight)
                }
                let stored = try await TwoDaemonTests.post(daemon.port, "/v1/signals", signals.joined(separator: "\n"), key: keys[index])
                #expect(stored.status == "200")
            }
        }
        func release(_ extra: [String], k: String) async throws -> (record: [String: Any], pairs: String) {
            var environment = ["CLEARINGHOUSE_PRIVACY_DIFFERENTIAL_PRIVACY": "false", "CLEARINGHOUSE_PRIVACY_K": k]
            environment["CLEARINGHOUSE_RELEASE_EVERY"] = "off"
            let made = try await ChildProcess.run(
                DaemonProcess.binary, ["release", "now", "--data-dir", directory, "--format", "json"] + extra, environment: environment)
            #expect(made.status == 0, "\(String(decoding: made.stderr, as: UTF8.self))")
            let record = try #require(json(String(decoding: made.stdout, as: UTF8.self)))
            let id = try #require(record["id"] as? Int)
            let shown = try await DaemonProcess.admin(["release", "show", "\(id)", "--format", "csv", "--data-dir", directory])
            return (record, shown.output)
        }
        func k(_ record: [String: Any]) -> Int? { (record["settings"] as? [String: Any])?["k"] as? Int }

        try await upload(0..<1000)
        let asked = try await release([], k: "12")
        #expect(k(asked.record) == 10, "release now did not ask the running daemon")
        let scanned = try await release(["--scan"], k: "10")
        #expect(k(scanned.record) == 10)
        #expect(asked.pairs.split(separator: "\n").count > 3, "too few released pairs to compare: \(asked.pairs)")
        #expect(asked.pairs == scanned.pairs)
        #expect((asked.record["summary"] as? NSDictionary) == (scanned.record["summary"] as? NSDictionary))

        // More persons through the daemon's ingest: its copy is patched, and still equal.
        try await upload(1000..<1500)
        let again = try await release([], k: "12")
        let rescanned = try await release(["--scan"], k: "10")
        #expect(k(again.record) == 10)
        #expect(again.pairs != asked.pairs)
        #expect(again.pairs == rescanned.pairs)
        #expect((again.record["summary"] as? NSDictionary) == (rescanned.record["summary"] as? NSDictionary))

        // Without the daemon, the command scans itself (its own k this time).
        try await daemon.terminate()
        let alone = try await release([], k: "12")
        #expect(k(alone.record) == 12)
    }
}
