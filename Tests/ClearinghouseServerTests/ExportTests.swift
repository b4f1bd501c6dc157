import ClearinghouseCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Signed per-partner exports: what they contain, that any change is caught, and that a crash
/// never leaves a half-written folder in view.
@Suite("Exports")
struct ExportTests {
    static func release(_ daemon: TestDaemon) async throws -> ReleaseRecord {
        let service = ReleaseService(
            store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false), budget: PrivacyBudget())
        return try await service.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "clearinghouse-export-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("each partner's folder holds only its own side, no count below k, no person data, and verifies")
    func contents() async throws {
        let consortium = RecommendationHTTPTests.consortium
        try await TestDaemon.run(partners: consortium.partners) { client, daemon in
            try await RecommendationHTTPTests.upload(client, daemon)
            let record = try await Self.release(daemon)
            let out = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: out) }
            let key = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            let exporter = ReleaseExporter(store: daemon.runtime.store, key: key, scoring: RecommendationSettings())
            let result = try await exporter.export(releaseID: nil, to: out)
            #expect(result.release == record.id)
            #expect(result.outcomes.map(\.partner).sorted() == consortium.partners.sorted())
            let tokens = (0..<consortium.persons).map { Lines.token("synthetic-\($0)") }
            for partner in consortium.partners {
                let folder = "\(out)/\(partner)/release-\(record.id)"
                #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: Hex.decode(key.publicKeyHex)!).ok)
                #expect(ExportVerifier.verify(folder: "\(out)/\(partner)/latest", trustedPublicKey: Hex.decode(key.publicKeyHex)!).ok)
                let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                #expect(names == ["affinities.csv", "affinities.json", "gaps.csv", "manifest.json", "recommendations.csv", "recommendations.json", "report.html"])

                let rows = try String(contentsOfFile: folder + "/affinities.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                #expect(!rows.isEmpty)
                for row in rows {
                    let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    #expect(fields[1] != partner, "an affinity is always with another brand")
                    #expect(Int(fields[3])! >= 10 && Int(fields[4])! >= 10, "no count below k")
                }
                let recommendations = try String(contentsOfFile: folder + "/recommendations.csv", encoding: .utf8)
                for row in recommendations.split(separator: "\n").dropFirst() {
                    let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    let item = fields[3]
                    #expect(fields[0] == "cross" ? !item.hasPrefix(partner + ":") : item.hasPrefix(partner + ":"))
                    if let count = Int(fields[7]) { #expect(count >= 10) }
                }
                let gapRows = try String(contentsOfFile: folder + "/gaps.csv", encoding: .utf8).split(separator: "\n")
                #expect(gapRows.first.map(String.init) == PartnerExportFiles.gapsHeader)
                for row in gapRows.dropFirst() {
                    let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    #expect(!fields[2].hasPrefix(partner + ":"), "a gap audience is another brand's")
                    #expect(Int(fields[5])! >= 10 && Int(fields[6])! >= 10, "no number below k")
                }
                // Every file: no token, nor anything that looks like one (64 hex digits).
                for name in names {
                    let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
                    let withoutSignature = name == "manifest.json" ? "" : text
                    #expect(withoutSignature.range(of: "[0-9a-f]{64}", options: .regularExpression) == nil, "\(name) holds no 64-hex value")
                    for token in tokens.prefix(200) { #expect(!text.contains(token)) }
                }
            }
            // One ledger entry per partner; exporting again writes nothing and records nothing.
            let entries = try daemon.count("SELECT COUNT(*) FROM ledger WHERE action = 'export.written'")
            #expect(entries == consortium.partners.count)
            let again = try await exporter.export(releaseID: record.id, to: out)
            #expect(again.outcomes.allSatisfy { if case .alreadyExported = $0.folder { return true } else { return false } })
            #expect(try daemon.count("SELECT COUNT(*) FROM ledger WHERE action = 'export.written'") == entries)
        }
    }

    @Test("changing, adding or removing any byte or file fails verification, as does another key")
    func tampering() async throws {
        let consortium = RecommendationHTTPTests.consortium
        try await TestDaemon.run(partners: consortium.partners) { client, daemon in
            try await RecommendationHTTPTests.upload(client, daemon)
            let record = try await Self.release(daemon)
            let out = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: out) }
            let key = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            let trusted = Hex.decode(key.publicKeyHex)!
            _ = try await ReleaseExporter(store: daemon.runtime.store, key: key, scoring: RecommendationSettings())
                .export(releaseID: record.id, to: out, partners: ["acme"])
            let folder = "\(out)/acme/release-\(record.id)"
            #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).ok)
            var tried = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
                let path = folder + "/" + name
                let original = try #require(FileManager.default.contents(atPath: path))
                // Every byte of the manifest and of small files; for larger ones, the first 64, the
                // last 64 and every 211th.
                let positions = original.count <= 2048
                    ? Array(0..<original.count)
                    : Array(0..<64) + Array((original.count - 64)..<original.count) + Array(stride(from: 64, to: original.count - 64, by: 211))
                for position in positions {
                    var changed = original
                    changed[position] ^= 0x01
                    try changed.write(to: URL(fileURLWithPath: path))
                    #expect(!ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).ok, "\(name) byte \(position)")
                    tried += 1
                }
                try original.write(to: URL(fileURLWithPath: path))
                try FileManager.default.removeItem(atPath: path)
                #expect(!ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).ok, "\(name) removed")
                try original.write(to: URL(fileURLWithPath: path))
            }
            #expect(tried > 1200)
            #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).ok, "restored")
            try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/extra.csv"))
            #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).problems == ["extra.csv is not in the manifest"])
            try FileManager.default.removeItem(atPath: folder + "/extra.csv")
            let other = try ExportSigningKey.loadOrCreate(at: out + "/other.key")
            #expect(!ExportVerifier.verify(folder: folder, trustedPublicKey: Hex.decode(other.publicKeyHex)!).ok)

            // The CLI: verify passes, then exits 1 after a change.
            let ok = try await DaemonProcess.admin(["export", "verify", folder, "--data-dir", daemon.directory])
            #expect(ok.status == 0 && ok.output.hasPrefix("ok:"))
            var csv = try #require(FileManager.default.contents(atPath: folder + "/affinities.csv"))
            csv[csv.count - 2] = UInt8(ascii: "9") == csv[csv.count - 2] ? UInt8(ascii: "8") : UInt8(ascii: "9")
            try csv.write(to: URL(fileURLWithPath: folder + "/affinities.csv"))
            let failed = try await DaemonProcess.admin(["export", "verify", folder, "--public-key", key.publicKeyHex])
            #expect(failed.status == 1 && failed.output.contains("affinities.csv"))
        }
    }

    @Test("kill -9 during an export leaves only complete, verifying folders; the next export finishes the rest")
    func crashMidExport() async throws {
        let partners = (0..<10).map { String(format: "brand%02d", $0) }
        let consortium = SyntheticConsortium(partners: partners, categories: 3, persons: 8000, plants: [], seed: 3)
        try await TestDaemon.run(partners: partners) { client, daemon in
            for (index, partner) in partners.enumerated() {
                let key = daemon.keys[partner]!
                let members = consortium.memberships.indices.filter { consortium.memberships[$0].contains(index) }
                _ = try await client.upload("/v1/consents", Lines.body(members.map { Lines.consent("crash-\($0)") }), as: key)
                let signals = consortium.signals.filter { $0.partner == index }.map {
                    Lines.signal("crash-\($0.person)", SyntheticConsortium.categoryName($0.category))
                }
                _ = try await client.upload("/v1/signals", Lines.body(signals), as: key)
            }
            let record = try await Self.release(daemon)
            let key = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            let trusted = Hex.decode(key.publicKeyHex)!
            // The partners with something to export (a partner with no released pair gets no folder).
            let scratch = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let exportable = try await ReleaseExporter(store: daemon.runtime.store, key: key, scoring: RecommendationSettings())
                .export(releaseID: record.id, to: scratch).outcomes.map(\.partner)
            #expect(exportable.count >= 8)
            var killedMidway = 0
            for attempt in 0..<12 where killedMidway < 3 {
                let out = try Self.temporaryDirectory()
                defer { try? FileManager.default.removeItem(atPath: out) }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
                process.arguments = ["export", "--out", out, "--data-dir", daemon.directory]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                let exited = ProcessExit(process)
                try process.run()
                // Kill as soon as the first partner's folders are published, or the export ends.
                try await Poll.until("attempt \(attempt)'s export to publish or end", every: .microseconds(200)) {
                    let published = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter {
                        FileManager.default.fileExists(atPath: "\(out)/\($0)/release-\(record.id)")
                    }
                    return !process.isRunning || published.count >= 1 + attempt % 3
                }
                kill(process.processIdentifier, SIGKILL)
                try await exited.wait()
                var complete = 0
                for partner in exportable {
                    let folder = "\(out)/\(partner)/release-\(record.id)"
                    guard FileManager.default.fileExists(atPath: folder) else { continue }
                    #expect(ExportVerifier.verify(folder: folder, trustedPublicKey: trusted).ok, "\(folder) is whole")
                    complete += 1
                }
                if complete < exportable.count { killedMidway += 1 } else { continue }
                // The next export cleans up after the dead one and publishes the rest.
                let rerun = try await DaemonProcess.admin(["export", "--out", out, "--data-dir", daemon.directory, "--format", "json"])
                #expect(rerun.status == 0, "\(rerun.errors) \(rerun.output)")
                for partner in exportable {
                    let folder = "\(out)/\(partner)"
                    #expect(ExportVerifier.verify(folder: "\(folder)/release-\(record.id)", trustedPublicKey: trusted).ok)
                    let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".") }
                    #expect(leftovers.isEmpty, "\(partner): \(leftovers)")
                }
            }
            #expect(killedMidway >= 1, "at least one export was killed before it finished")
        }
    }
}

/// The HTML report opened in headless Chromium, as a partner would open it.
@Suite("Export report in a browser")
struct ExportReportBrowserTests {
    static var chromium: String {
        ProcessInfo.processInfo.environment["CLEARINGHOUSE_CHROMIUM"]
            ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            } ?? "chromium"
    }

    @Test("report.html is self-contained and renders: heatmap and surprise lists in the DOM, a full screenshot")
    func rendersInChromium() async throws {
        let consortium = RecommendationHTTPTests.consortium
        try await TestDaemon.run(partners: consortium.partners) { client, daemon in
            try await RecommendationHTTPTests.upload(client, daemon)
            let record = try await ExportTests.release(daemon)
            let out = try ExportTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: out) }
            let key = try ExportSigningKey.loadOrCreate(at: daemon.directory + "/export.key")
            _ = try await ReleaseExporter(store: daemon.runtime.store, key: key, scoring: RecommendationSettings())
                .export(releaseID: record.id, to: out, partners: ["acme"])
            let report = "\(out)/acme/release-\(record.id)/report.html"
            let html = try String(contentsOfFile: report, encoding: .utf8)
            // Self-contained: nothing to fetch.
            for reference in ["http://", "https://", "src=", "<link", "<script", "@import", "url("] {
                #expect(!html.contains(reference), "report.html references \(reference)")
            }
            let common = [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=\(out)/chromium-profile",
            ]
            let dom = try await ChildProcess.run(Self.chromium, common + ["--dump-dom", "file://" + report])
            #expect(dom.status == 0, "\(String(decoding: dom.stderr, as: UTF8.self).suffix(500))")
            let rendered = String(decoding: dom.stdout, as: UTF8.self)
            #expect(rendered.contains("id=\"heatmap\""))
            #expect(rendered.components(separatedBy: "<td style=\"background:").count > 20, "heatmap cells are colored")
            #expect(rendered.contains("id=\"cross\"") && rendered.contains("id=\"instead\""))
            #expect(rendered.contains("acme:c07"), "the bridged item is in the try-instead list")
            #expect(rendered.contains("via globex:c06"), "with its bridge as evidence")

            let screenshot = "\(out)/report.png"
            let shot = try await ChildProcess.run(
                Self.chromium, common + ["--window-size=1280,1600", "--screenshot=\(screenshot)", "file://" + report])
            #expect(shot.status == 0)
            let png = try #require(FileManager.default.contents(atPath: screenshot))
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
            let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1280 && height == 1600)
            #expect(png.count > 40_000, "a page with content, not a blank one (\(png.count) bytes)")
            if let keep = ProcessInfo.processInfo.environment["CLEARINGHOUSE_KEEP_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: keep)
                try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
            }
        }
    }
}
