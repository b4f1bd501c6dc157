import ArgumentParser
import ClearinghouseCore
import ClearinghouseSQLite
import ClearinghouseServer
import Foundation
import Logging

/// What an admin command works on: the daemon's own database, opened beside a running daemon
/// (WAL allows it) or alone.
struct AdminContext {
    let settings: ServerSettings
    let store: SQLiteStore

    static func open(_ options: GlobalOptions) async throws -> AdminContext {
        let settings = try await options.settings()
        var logger = Logger(label: "clearinghouse.admin")
        logger.logLevel = .warning
        try FileManager.default.createDirectory(
            atPath: settings.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var store = try SQLiteStore.open(path: settings.databasePath, logger: logger)
        // With the daemon's pepper at hand (same host), audit records can be checked and
        // revocations recorded under their pseudonyms; without it they cannot.
        if let pepper = try? PepperFile.load(at: settings.pepperPath) {
            store = store.pseudonymizing(with: PersonKeyDeriver(pepper: pepper).auditPseudonymizer)
        }
        return AdminContext(settings: settings, store: store)
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
