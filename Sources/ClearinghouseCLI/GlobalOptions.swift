import ArgumentParser
import ClearinghouseServer
import Configuration

/// Options every subcommand takes: where the data lives and which configuration file to read.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of the database, the pepper key file and the spool (default ./var; setting data_dir).")
    public var dataDir: String?

    @Option(name: .long, help: "Configuration file (default config/clearinghouse.json when present).")
    public var config: String?

    @Option(name: .long, help: "Database URL: sqlite: (default) or postgres://USER@HOST:PORT/DB?sslmode=... (setting storage.url).")
    public var storageUrl: String?

    public init() {}

    /// Settings from file, environment and these flags, plus any command-specific `flags`.
    func settings(extra flags: [String: ConfigContent] = [:]) async throws -> ServerSettings {
        var all = flags
        if let dataDir { all["data_dir"] = .string(dataDir) }
        if let storageUrl { all["storage.url"] = .string(storageUrl) }
        return try await ConfigurationLoader.load(configPath: config, flags: all)
    }
}
