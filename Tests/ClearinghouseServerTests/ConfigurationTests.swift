import ClearinghouseCore
import ClearinghouseServer
import GRDB
import Logging
import Configuration
import Foundation
import Testing

@testable import ClearinghouseCLI

@Suite("Configuration")
struct ConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let repositoryConfig = repository.appendingPathComponent("config/clearinghouse.json").path

    /// Flattens the shipped file into (setting key -> value) and (setting key -> documentation).
    static func shippedFile() throws -> (values: [String: Any], about: [String: String]) {
        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: repositoryConfig))) as? [String: Any])
        var values: [String: Any] = [:]
        var about: [String: String] = [:]
        func walk(_ node: [String: Any], _ prefix: String) {
            for (name, value) in node {
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                if name == "_about", let docs = value as? [String: String] {
                    for (setting, text) in docs { about[prefix.isEmpty ? setting : "\(prefix).\(setting)"] = text }
                } else if name.hasPrefix("_about_"), let text = value as? String {
                    about[String(name.dropFirst("_about_".count))] = text
                } else if let child = value as? [String: Any] {
                    walk(child, key)
                } else if !name.hasPrefix("_") {
                    values[key] = value
                }
            }
        }
        walk(root, "")
        return (values, about)
    }

    @Test("docs/configuration.md is the reference rendered from the catalogue, with a row per setting")
    func referenceMatchesCatalog() throws {
        let shipped = try String(contentsOf: Self.repository.appendingPathComponent(ConfigurationReference.path), encoding: .utf8)
        #expect(
            shipped == ConfigurationReference.markdown,
            "docs/configuration.md differs from the settings catalogue: run `.build/debug/clearinghouse settings > docs/configuration.md`")
        for setting in SettingsCatalog.all {
            #expect(shipped.contains("| `\(setting.key)` | `\(setting.environmentName)` |"), "row of \(setting.key)")
        }
    }

    @Test("config/clearinghouse.json sets and documents every setting, at its default, and nothing else")
    func shippedFileMatchesCatalog() throws {
        let file = try Self.shippedFile()
        #expect(Set(file.values.keys) == Set(SettingsCatalog.all.map(\.key)))
        #expect(Set(file.about.keys) == Set(SettingsCatalog.all.map(\.key)))
        for setting in SettingsCatalog.all {
            let value = file.values[setting.key]
            switch setting.kind {
            case .decimal:
                #expect((value as? NSNumber)?.doubleValue == Double(setting.defaultValue), "\(setting.key)")
            case .boolean:
                #expect((value as? Bool).map { "\($0)" } == setting.defaultValue, "\(setting.key)")
            default:
                #expect(value.map { "\($0)" } == setting.defaultValue, "\(setting.key)")
            }
            #expect(file.about[setting.key] == setting.summary, "\(setting.key)")
        }
        try ConfigurationLoader.validateFile(Self.repositoryConfig)
    }

    @Test("the shipped file loads to the built-in defaults")
    func defaults() async throws {
        let settings = try await ConfigurationLoader.load(configPath: Self.repositoryConfig, flags: [:], environment: [:])
        let builtIn = ServerSettings()
        #expect(settings.limits == builtIn.limits)
        #expect(settings.host == builtIn.host && settings.port == builtIn.port && settings.dataDirectory == builtIn.dataDirectory)
        #expect(settings.idleTimeoutSeconds == builtIn.idleTimeoutSeconds && settings.logLevel == builtIn.logLevel)
        #expect(settings.privacy == builtIn.privacy && settings.budget == builtIn.budget)
        #expect(settings.releaseEverySeconds == 86_400)
    }

    @Test("privacy settings: the k floor, decimals written as whole numbers, booleans, intervals")
    func privacySettings() async throws {
        let path = try writeConfig(
            #"{"privacy": {"k": 80, "epsilon": 2, "differential_privacy": false, "budget_period": "week"}, "release": {"every": "6h"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try await ConfigurationLoader.load(configPath: path, flags: [:], environment: [:])
        #expect(settings.privacy.k == 80 && settings.privacy.epsilon == 2 && !settings.privacy.differentialPrivacy)
        #expect(settings.budget.period == .week && settings.releaseEverySeconds == 21_600)
        for (json, named) in [
            (#"{"privacy": {"k": 9}}"#, "privacy.k"),
            (#"{"privacy": {"differential_privacy": "no"}}"#, "privacy.differential_privacy"),
            (#"{"privacy": {"budget_period": "year"}}"#, "privacy.budget_period"),
            (#"{"release": {"every": "soon"}}"#, "release.every"),
        ] {
            let bad = try writeConfig(json)
            defer { try? FileManager.default.removeItem(atPath: bad) }
            await #expect {
                _ = try await ConfigurationLoader.load(configPath: bad, flags: [:], environment: [:])
            } throws: { "\($0)".contains(named) }
        }
        await #expect {
            _ = try await ConfigurationLoader.load(configPath: nil, flags: [:], environment: ["CLEARINGHOUSE_PRIVACY_K": "5"])
        } throws: { "\($0)".contains("CLEARINGHOUSE_PRIVACY_K") }
    }

    func writeConfig(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("flags override environment variables, which override the file")
    func precedence() async throws {
        let path = try writeConfig(#"{"server": {"port": 9000}, "ingest": {"max_line_bytes": 4096}, "data_dir": "/tmp/from-file"}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = ["CLEARINGHOUSE_SERVER_PORT": "9001", "CLEARINGHOUSE_DATA_DIR": "/tmp/from-env"]
        var settings = try await ConfigurationLoader.load(configPath: path, flags: ["server.port": .int(9002)], environment: environment)
        #expect(settings.port == 9002)
        #expect(settings.dataDirectory == "/tmp/from-env")
        #expect(settings.limits.maxLineBytes == 4096)
        settings = try await ConfigurationLoader.load(configPath: path, flags: [:], environment: environment)
        #expect(settings.port == 9001)
        settings = try await ConfigurationLoader.load(configPath: path, flags: [:], environment: [:])
        #expect(settings.port == 9000 && settings.dataDirectory == "/tmp/from-file")
    }

    @Test(
        "mistakes are errors that name the setting, not silent defaults",
        arguments: [
            (#"{"server": {"prot": 9000}}"#, [:], "server.prot"),
            (#"{"server": {"port": "9000"}}"#, [:], "server.port"),
            (#"{"server": {"port": 70000}}"#, [:], "server.port"),
            (#"{"log": {"level": "loud"}}"#, [:], "log.level"),
            ("{not json", [:], "not valid JSON"),
            ("{}", ["CLEARINGHOUSE_INGEST_MAX_LINE_BYTES": "lots"], "CLEARINGHOUSE_INGEST_MAX_LINE_BYTES"),
        ] as [(String, [String: String], String)])
    func mistakes(json: String, environment: [String: String], named: String) async throws {
        let path = try writeConfig(json)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await ConfigurationLoader.load(configPath: path, flags: [:], environment: environment)
            Issue.record("expected an error naming \(named)")
        } catch let problem as ConfigurationLoader.Problem {
            #expect(problem.description.contains(named))
        }
    }

    @Test("a --config file that does not exist is an error")
    func missingFile() async {
        await #expect(throws: ConfigurationLoader.Problem.self) {
            try await ConfigurationLoader.load(configPath: "/nonexistent/clearinghouse.json", flags: [:], environment: [:])
        }
    }
}

@Suite("Upgrades")
struct UpgradeTests {
    @Test("a SQLite database of an earlier version (no lease table, no dropped lines) opens for writing and is migrated")
    func previousVersionDatabase() async throws {
        let directory = NSTemporaryDirectory() + "clearinghouse-upgrade-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let settings = ServerSettings(dataDirectory: directory)
        let first = try await StoreOpener.open(settings, access: .write, logger: Logger(label: "upgrade"))
        try await first.store.addPartner(id: PartnerID("acme")!, name: "Acme", key: APIKey.generate(), at: 1)
        first.close()
        // What an earlier version left: every migration but the two newest.
        let queue = try DatabaseQueue(path: settings.databasePath)
        try await queue.write { db in
            try db.execute(
                sql: """
                    DROP TABLE lease; ALTER TABLE batch DROP COLUMN dropped_lines;
                    DELETE FROM grdb_migrations WHERE identifier IN ('v7-leases', 'v8-batch-dropped-lines')
                    """)
        }
        let reopened = try await StoreOpener.open(settings, access: .write, logger: Logger(label: "upgrade"))
        try await reopened.store.checkReady()
        #expect(try await reopened.store.partners().map(\.id) == ["acme"])
        #expect(try await reopened.store.acquireLease("scheduler", holder: "a", now: 1, ttl: 1000))
        reopened.close()
        let columns = try await queue.read { db in try db.columns(in: "batch").map(\.name) }
        #expect(columns.contains("dropped_lines"))
    }
}
