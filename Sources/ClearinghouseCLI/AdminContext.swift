import ArgumentParser
import ClearinghouseCore
import ClearinghouseServer
import Foundation
import Logging

/// What an admin command works on: the daemon's own database, opened beside a running daemon
/// (WAL allows it) or alone.
struct AdminContext {
    let settings: ServerSettings
    let store: any ClearinghouseStore
    /// The pepper-keyed deriver: always there for `.write`, there for `.read` when the pepper
    /// file could be read (same host as the daemon).
    let deriver: PersonKeyDeriver?

    /// Opens the store for `access`. Commands that write (`partner add`, `purge`, `release
    /// now`, `export write`) must have the pepper: without it they stop here with a message.
    static func open(_ options: GlobalOptions, access: StoreAccess) async throws -> AdminContext {
        let settings = try await options.settings()
        var logger = Logger(label: "clearinghouse.admin")
        logger.logLevel = .warning
        try FileManager.default.createDirectory(
            atPath: settings.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let opened = try await StoreOpener.open(settings, access: access, logger: logger)
        return AdminContext(settings: settings, store: opened.store, deriver: opened.deriver)
    }
}

/// Output format of the admin commands: text for a person, JSON for a script.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text
    case json
}


/// Writes a value as pretty JSON to standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
