import ClearinghouseServer
import Configuration
import Foundation
import Testing

@testable import ClearinghouseCLI

@Suite("Configuration")
struct ConfigurationTests {
    static let repositoryConfig = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/clearinghouse.json").path

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

    @Test("config/clearinghouse.json sets and documents every setting, at its default, and nothing else")
    func shippedFileMatchesCatalog() throws {
        let file = try Self.shippedFile()
        #expect(Set(file.values.keys) == Set(SettingsCatalog.all.map(\.key)))
        #expect(Set(file.about.keys) == Set(SettingsCatalog.all.map(\.key)))
        for setting in SettingsCatalog.all {
            #expect("\(file.values[setting.key]!)" == setting.defaultValue, "\(setting.key)")
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
