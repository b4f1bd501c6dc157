import ArgumentParser
import Foundation

/// `clearinghouse settings`: every setting with its environment variable, type, default and
/// meaning, as the Markdown of docs/configuration.md or as JSON for tools.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "Print the configuration reference (docs/configuration.md is this output).")

    @Option(name: .long, help: "Output format: markdown or json.") var format: Format = .markdown

    enum Format: String, CaseIterable, ExpressibleByArgument { case markdown, json }

    func run() throws {
        switch format {
        case .markdown: print(ConfigurationReference.markdown, terminator: "")
        case .json:
            try printJSON(
                SettingsCatalog.all.map {
                    SettingRow(
                        key: $0.key, environment: $0.environmentName, type: ConfigurationReference.type(of: $0.kind),
                        defaultValue: $0.defaultValue, meaning: $0.summary)
                })
        }
    }
}

private struct SettingRow: Encodable {
    let key: String
    let environment: String
    let type: String
    let defaultValue: String
    let meaning: String

    enum CodingKeys: String, CodingKey {
        case key, environment, type, meaning
        case defaultValue = "default"
    }
}
