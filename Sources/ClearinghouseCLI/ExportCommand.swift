import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse export`: signed per-partner export folders of a release, and their check.
///
/// `export --release latest --out DIR` writes; `export verify DIR` checks a folder against the
/// daemon's public key; `export public-key` prints that key for the operator to publish.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write each partner's signed export of a release (affinities, recommendations, report), or verify one.",
        subcommands: [Write.self, Verify.self, PublicKey.self],
        defaultSubcommand: Write.self)

    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write",
            abstract: "Write OUT/PARTNER/release-ID/ for each partner (atomic; an existing release folder is left as is).")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Release id, or latest.") var release: String = "latest"
        @Option(name: .long, help: "Directory to write the partner folders into.") var out: String
        @Option(name: .long, help: "Only this partner (repeatable; default: every partner in the release).") var partner: [String] = []
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard release == "latest" || Int64(release) != nil else { throw ValidationError("--release must be a number or latest") }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .write)
            let key = try ExportSigningKey.loadOrCreate(at: admin.settings.exportKeyPath)
            let exporter = ReleaseExporter(
                store: admin.store, key: key, scoring: admin.settings.recommendation,
                budget: (admin.settings.budget, admin.settings.privacy), feedback: admin.settings.feedback)
            let result = try await exporter.export(
                releaseID: Int64(release), to: out, partners: partner.isEmpty ? nil : partner)
            let rows = result.outcomes.map { outcome -> ExportRow in
                switch outcome.folder {
                case .written(let path): return ExportRow(partner: outcome.partner, status: "written", folder: path, ledgerSequence: outcome.ledgerSequence)
                case .alreadyExported(let path): return ExportRow(partner: outcome.partner, status: "already exported", folder: path, ledgerSequence: nil)
                }
            }
            switch format {
            case .json: try printJSON(ExportReport(release: result.release, keyID: key.keyID, partners: rows))
            case .text:
                print("release \(result.release) exported to \(out), signed by key \(key.keyID)")
                print(Table.render(header: ["partner", "status", "folder"], rows: rows.map { [$0.partner, $0.status, $0.folder] }))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an export folder's signature and every file; exit 1 on any change.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The export folder (OUT/PARTNER/release-ID, or OUT/PARTNER/latest).") var folder: String
        @Option(name: .long, help: "The daemon's export public key, hex (default: the key in --data-dir).") var publicKey: String?

        func run() async throws {
            let trusted: [UInt8]
            if let publicKey {
                guard let bytes = Hex.decode(publicKey), bytes.count == 32 else {
                    throw ValidationError("--public-key must be 64 hexadecimal characters (from `clearinghouse export public-key`)")
                }
                trusted = bytes
            } else {
                let settings = try await options.settings()
                guard FileManager.default.fileExists(atPath: settings.exportKeyPath) else {
                    throw ValidationError("no export key in \(settings.dataDirectory); pass --public-key with the daemon's export public key")
                }
                trusted = try Hex.decode(ExportSigningKey.loadOrCreate(at: settings.exportKeyPath).publicKeyHex) ?? []
            }
            let report = ExportVerifier.verify(folder: folder, trustedPublicKey: trusted)
            if report.ok, let payload = report.payload {
                print("ok: \(folder) is release \(payload.release.id) for \(payload.partner), \(payload.files.count) files, signed by key \(ExportSigningKey.keyID(publicKey: trusted))")
            } else {
                for problem in report.problems { print("FAIL: \(problem)") }
                throw ExitCode(1)
            }
        }
    }

    struct PublicKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key", abstract: "Print the export public key (hex) partners verify exports with.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let key = try ExportSigningKey.loadOrCreate(at: admin.settings.exportKeyPath)
            print(key.publicKeyHex)
        }
    }
}

struct ExportRow: Encodable {
    let partner: String
    let status: String
    let folder: String
    let ledgerSequence: Int64?

    enum CodingKeys: String, CodingKey {
        case partner, status, folder
        case ledgerSequence = "ledger_sequence"
    }
}

struct ExportReport: Encodable {
    let release: Int64
    let keyID: String
    let partners: [ExportRow]

    enum CodingKeys: String, CodingKey {
        case release, partners
        case keyID = "key_id"
    }
}
