import ArgumentParser
import ClearinghouseCore
import ClearinghousePostgres
import ClearinghouseSQLite
import ClearinghouseServer
import Foundation
import Logging

/// `clearinghouse storage`: moving a deployment between backends.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Move a deployment between storage backends.", subcommands: [Copy.self])

    /// `storage copy --to postgres://...`: SQLite in data_dir into an empty PostgreSQL database.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy the SQLite database of --data-dir into an empty PostgreSQL database, then verify the copy.",
            discussion: """
                Run it with the daemon stopped. Everything moves in one transaction (partners and key hashes, consents and their \
                history, signals, batches, the ledger, releases, revocation records); then row counts, the ledger head and the \
                exact release counts are compared, and the command fails on any difference. The target's password comes from \
                CLEARINGHOUSE_STORAGE_PASSWORD or --to-password-file. Afterwards set storage.url to the target and copy \
                pepper.key and export.key to every daemon's data_dir.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "The target: postgres://USER@HOST:PORT/DB?sslmode=disable|require|verify-full (an empty database).")
        var to: String
        @Option(name: .long, help: "File (mode 0600) holding the target's password.") var toPasswordFile: String?
        @Option(name: .long, help: "CA certificate of the target server, for sslmode=verify-full.") var toCaFile: String?
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            if case .failure(let problem) = PostgresLocation.parse(to) {
                throw ValidationError(problem.message.replacingOccurrences(of: "setting 'storage.url'", with: "--to"))
            }
        }

        func run() async throws {
            let settings = try await options.settings()
            guard case .sqlite = settings.storage.backend else {
                throw ValidationError("storage copy reads the SQLite database of --data-dir; storage.url names PostgreSQL already")
            }
            guard case .success(let location) = PostgresLocation.parse(to) else { return }
            var logger = Logger(label: "clearinghouse.storage-copy")
            logger.logLevel = .warning
            guard FileManager.default.fileExists(atPath: settings.databasePath) else {
                throw ValidationError("no SQLite database at \(settings.databasePath); pass --data-dir of the deployment to copy")
            }
            let source = try SQLiteStore.openReadOnly(path: settings.databasePath, pseudonymizer: nil, logger: logger)
            let password = try StorageSettings(backend: .postgres(location), passwordFile: toPasswordFile, caFile: toCaFile).password()
            let target = try await PostgresStore.open(
                location, password: password, caFile: toCaFile, pseudonymizer: nil, migrating: true, logger: logger)
            defer { target.close() }
            let copier = StorageCopier(source: source, target: target, bounds: settings.privacy.bounds)
            let report = try await copier.copy(at: WallClock.nowMilliseconds())
            switch format {
            case .json: try printJSON(report)
            case .text:
                print(Table.render(header: ["table", "SQLite rows", "PostgreSQL rows"], rows: report.tables.map { [$0.table, "\($0.source)", "\($0.target)"] }))
                print("ledger: \(report.ledgerEntries) entries, head \(report.ledgerHead)")
                print("release counts (sha256 of the exact counts, both engines): \(report.releaseCountsDigest)")
                print(report.ok ? "copy verified" : "COPY DIFFERS:\n  " + report.problems.joined(separator: "\n  "))
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}
