#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ClearinghouseCore
import ClearinghouseServer
import Configuration
import Foundation
import Logging

/// `clearinghouse demo`: a synthetic consortium end to end, so a newcomer sees in a minute what
/// Clearinghouse is for.
///
/// Nothing is simulated past the data itself: the daemon `serve` runs listens on a loopback
/// port, the partner upload client hashes and uploads each brand's CSV export over HTTP, the
/// release is the real one (default privacy settings, DP noise and all), and the reports are
/// the signed exports partners get.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a synthetic four-brand consortium end to end: upload, release, surprise lists, reports.")

    @Option(name: .long, help: "Customers in the consortium (1,000-1,000,000).") var persons: Int = 60_000
    @Option(name: .long, help: "Data folder to run in; absent or empty, and kept (default: a new temporary folder).")
    var dataDir: String?
    @Flag(name: .long, help: "Keep the temporary data folder (database, keys, CSV exports) instead of removing it.")
    var keep = false
    @Option(name: .long, help: "Seed of the synthetic data (printed; the same seed makes the same customers).")
    var seed: UInt64 = 7
    @Option(name: .long, help: "The partner upload client (default: scripts/clearinghouse-upload of this clone).")
    var uploadClient: String?

    func validate() throws {
        guard (1000...1_000_000).contains(persons) else { throw ValidationError("--persons must be from 1,000 to 1,000,000") }
        if let dataDir, let contents = try? FileManager.default.contentsOfDirectory(atPath: dataDir), !contents.isEmpty {
            throw ValidationError("--data-dir \(dataDir) is not empty; the demo runs in an absent or empty folder, never over data")
        }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let client = try UploadClientRun.locate(explicit: uploadClient)
        let folder = try dataDir ?? Self.temporaryFolder()
        let kept = keep || dataDir != nil
        var say = DemoOutput()
        say.line(
            "clearinghouse demo: \(DemoConsortium.brands.count) brands, \(persons.formatted()) customers, seed \(seed)")
        say.line("data folder \(folder)" + (kept ? "" : " (removed at the end, the reports kept; --keep keeps it all)"))

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "clearinghouse.demo")
        let settings = try await ConfigurationLoader.load(
            configPath: nil,
            flags: [
                "data_dir": .string(folder), "server.port": .int(0), "metrics.port": .int(0), "release.every": .string("off"),
                "retention.every": .string("off"), "log.level": .string("warning"),
            ],
            environment: [:], readsDefaultFile: false)
        let lock = try DataFolderLock.acquire(folder: folder)
        let runtime = try await DaemonRuntime.open(settings, logger: logger)
        let daemon = try await InProcessDaemon.start(runtime, logger: logger)
        let url = "http://127.0.0.1:\(daemon.port)"
        say.step("the daemon listens on \(url) (SQLite in \(folder), default privacy settings)")
        do {
            try await tour(runtime: runtime, url: url, folder: folder, client: client, kept: kept, say: &say)
        } catch {
            try? await daemon.stop()
            // A failed run leaves no synthetic data behind unless it was asked to keep it.
            if !kept { try? FileManager.default.removeItem(atPath: folder) }
            throw error
        }
        try await daemon.stop()
        withExtendedLifetime(lock) {}
        if kept {
            say.line("")
            say.line("kept \(folder); the brands' API keys are in \(folder)/partner-keys (mode 0600). To look around:")
            say.line("  clearinghouse serve --data-dir \(folder) --port 8420 --metrics-port 0")
            say.line("  clearinghouse recommend --data-dir \(folder) --partner trailhead --kind instead")
            say.line("  clearinghouse release show latest --pairs --data-dir \(folder)")
            say.line("the partner portal, as trailhead's marketers see it (sign in with the printed read key):")
            say.line("  clearinghouse partner add-key trailhead --role read --data-dir \(folder)")
            say.line("  then, with serve running, open http://127.0.0.1:8420/portal")
        } else {
            try Self.removeAllButReports(folder)
        }
        say.line("")
        say.line(String(format: "done in %.1f s", Self.seconds(clock.now - started)))
    }

    /// Steps 2 to 6, with the daemon running.
    private func tour(
        runtime: DaemonRuntime, url: String, folder: String, client: String, kept: Bool, say: inout DemoOutput
    ) async throws {
        let store = runtime.store
        var keys: [String: String] = [:]
        for brand in DemoConsortium.brands {
            let key = APIKey.generate()
            try await store.addPartner(id: PartnerID(brand.id)!, name: brand.name, key: key, at: WallClock.nowMilliseconds())
            keys[brand.id] = key.text
        }
        if kept { try Self.writeKeys(keys, to: folder + "/partner-keys") }
        let saltPath = folder + "/consortium.salt"
        let salt = try ConsortiumSalt.create(kid: "demo-1", at: saltPath)
        say.step(
            "partners added, each with its own API key: "
                + DemoConsortium.brands.map { "\($0.id) (\($0.name))" }.joined(separator: ", "))
        say.line("consortium salt \(salt.kid) written to \(saltPath): the brands hash e-mail addresses with it; the daemon never sees it")

        let consortium = DemoConsortium(persons: persons, seed: seed)
        let uploads = folder + "/crm-exports"
        try FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let exports = try consortium.writeExports(to: uploads, now: WallClock.nowMilliseconds())
        say.step(
            "CRM exports written to \(uploads) (email, category, quantity, purchased_at, consent_at, consent_ref): "
                + exports.map { "\($0.brand.id) \($0.rows.formatted()) rows" }.joined(separator: ", "))
        say.line("planted bridges, which \"try instead\" should find (buyers of the first also buy the second elsewhere,")
        say.line("and other buyers of the second buy the third at the first brand):")
        for bridge in DemoConsortium.bridges {
            say.line(
                "  \(DemoConsortium.item(bridge.brand, bridge.from)) -> \(DemoConsortium.item(bridge.viaBrand, bridge.via)) -> "
                    + DemoConsortium.item(bridge.brand, bridge.to))
        }

        say.step("uploading each export with \(client): hashed locally, sent in gzip chunks with an Idempotency-Key")
        for export in exports {
            let run = UploadClientRun(client: client, url: url, saltFile: saltPath, apiKey: keys[export.brand.id]!)
            let outcome = try await run.upload(export.path, stateFolder: uploads + "/\(export.brand.id).upload-state")
            say.line(
                "  \(export.brand.id): \(outcome.rowsRead.formatted()) rows read; stored \(outcome.consentsStored.formatted()) consents "
                    + "and \(outcome.signalsStored.formatted()) signals, dropped \(outcome.signalsDropped.formatted()) without consent "
                    + String(format: "(%.1f s)", outcome.seconds))
        }

        let service = runtime.settings.releaseService(store: store)
        let record = try await service.releaseNow(trigger: "demo", at: WallClock.nowMilliseconds())
        say.step("released: partners read only its noisy counts above the threshold; the exact sizes below are the operator's view")
        say.block(ReleaseText.describe(record))

        guard let table = try await store.releasedTable(id: record.id) else {
            throw ValidationError("release \(record.id) was stored without its table")
        }
        say.step("each brand's surprise lists: the ranking its API key reads at GET /v1/releases/latest/recommendations, computed here from the stored release")
        let ranker = SurpriseRanker(table: table, settings: runtime.settings.recommendation)
        var found = 0
        for bridge in DemoConsortium.bridges {
            let brand = DemoConsortium.brands[bridge.brand]
            let category = brand.categories[bridge.from]
            for kind in [RecommendationKind.instead, .cross] {
                switch ranker.recommendations(partner: brand.id, category: category, kind: kind, limit: 3) {
                case .success(let lists):
                    say.line("")
                    say.block(RecommendationText.describe(
                        lists, partner: brand.id, kind: kind, release: record.id, settings: runtime.settings.recommendation))
                    if kind == .instead {
                        let planted = DemoConsortium.item(bridge.brand, bridge.to)
                        if let rank = lists.first?.suggestions.first(where: { $0.item == planted })?.rank {
                            found += 1
                            say.line("  -> the planted \(planted) is suggestion \(rank)")
                        } else {
                            say.line("  -> the planted \(planted) is not in the top 3 (noise, or too few customers: try more --persons)")
                        }
                    }
                case .failure(let failure):
                    say.line("")
                    say.line("\(brand.id):\(category): no \(kind.rawValue) list (\(failure))")
                }
            }
        }
        say.line("")
        say.line("planted bridges found in the top 3: \(found) of \(DemoConsortium.bridges.count)")

        let key = try ExportSigningKey.loadOrCreate(at: runtime.settings.exportKeyPath)
        let reports = folder + "/exports"
        let exported = try await ReleaseExporter(
            store: store, key: key, scoring: runtime.settings.recommendation,
            budget: (runtime.settings.budget, runtime.settings.privacy))
            .export(releaseID: record.id, to: reports)
        say.step(
            exported.outcomes.isEmpty
                ? "no export written: no brand has a released pair (too few customers for k and the noise; try more --persons)"
                : "signed exports written, one per brand with released pairs; open each report.html in a browser:")
        let folders = exported.outcomes.map { outcome -> (partner: String, path: String) in
            switch outcome.folder {
            case .written(let path), .alreadyExported(let path): (outcome.partner, path)
            }
        }
        for folder in folders { say.line("  \(folder.partner): \(folder.path)/report.html") }
        if let first = folders.first {
            say.line("a partner checks its folder with: clearinghouse export verify \(first.path) --public-key \(key.publicKeyHex)")
        }
    }

    static func temporaryFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clearinghouse-demo-\(UUID().uuidString.prefix(8).lowercased())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return folder
    }

    /// A kept folder gets each brand's key in a file of its own (0600), so the API can be tried
    /// on it later; keys are shown nowhere else.
    static func writeKeys(_ keys: [String: String], to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (brand, key) in keys {
            let path = folder + "/\(brand).key"
            guard FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(path)") }
        }
    }

    /// Removes the database, keys, salt and CSV exports, leaving the signed reports (the whole
    /// folder when too few customers left nothing to export).
    static func removeAllButReports(_ folder: String) throws {
        let reports = folder + "/exports"
        if (try? FileManager.default.contentsOfDirectory(atPath: reports))?.isEmpty ?? true {
            try FileManager.default.removeItem(atPath: folder)
            return
        }
        for entry in try FileManager.default.contentsOfDirectory(atPath: folder) where entry != "exports" {
            try FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The demo's narration on standard output: numbered steps, indented detail, flushed line by
/// line so it stays in order with the upload client's progress on standard error.
struct DemoOutput {
    private var steps = 0

    mutating func step(_ text: String) {
        steps += 1
        line("")
        line("\(steps). \(text)")
    }

    func line(_ text: String) {
        print(text)
        fflush(nil)  // every stream: naming `stdout` is shared mutable state to Swift 6
    }

    func block(_ text: String) {
        for row in text.split(separator: "\n", omittingEmptySubsequences: false) { line(row.isEmpty ? "" : "   \(row)") }
    }
}
