import ArgumentParser
import ClearinghouseCore
import ClearinghouseServer
import Foundation

/// `clearinghouse release`: compute, list and inspect releases (the operator's view).
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Compute a release now, list releases, show one.",
        subcommands: [Now.self, List.self, Show.self])

    struct Now: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute and store a release from the live-consented signals (spends privacy budget).",
            discussion: """
                With the daemon running on the same data folder, the daemon computes it (asked over \
                admin.sock in the data folder) from its columnar copy of the signals; otherwise, or \
                with --scan, this command scans the database itself. The counts are the same either way.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
        @Flag(name: .long, help: "Scan the database in this process even when a daemon runs.") var scan = false

        func run() async throws {
            let record: ReleaseRecord
            if !scan, let asked = try await askDaemon() {
                record = asked
            } else {
                let admin = try await AdminContext.open(options, access: .write)
                // A one-off process has no columnar copy to keep: building one to count once
                // would read the same rows as the scan, and hold them.
                let engine = admin.settings.releaseEngine == .columnar ? ReleaseEngine.memory : admin.settings.releaseEngine
                let service = admin.settings.releaseService(store: admin.store, engine: engine)
                record = try await service.releaseNow(trigger: "cli", at: WallClock.nowMilliseconds())
            }
            switch format {
            case .json: try printJSON(record)
            case .text: print(ReleaseText.describe(record))
            }
        }

        /// The release the running daemon computed, or `nil` when no daemon listens.
        private func askDaemon() async throws -> ReleaseRecord? {
            let settings = try await options.settings()
            guard let answer = try AdminSocketClient.post("release", dataDirectory: settings.dataDirectory) else { return nil }
            guard answer.status == 200 else {
                let failure = try? JSONDecoder().decode(AdminSocket.Failure.self, from: answer.body)
                throw DaemonRefused(description: failure?.error ?? "the daemon answered \(answer.status) to release now")
            }
            return try JSONDecoder().decode(ReleaseRecord.self, from: answer.body)
        }
    }

    /// The daemon's own reason for not making the release, printed as the command's error.
    struct DaemonRefused: Error, CustomStringConvertible {
        var description: String
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored releases, newest first.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let records = try await admin.store.releases()
            switch format {
            case .json: try printJSON(records)
            case .text:
                guard !records.isEmpty else {
                    print("no releases yet; `clearinghouse release now` computes one")
                    return
                }
                print(Table.render(
                    header: ["id", "created", "trigger", "dp", "epsilon", "k", "persons", "pairs released", "suppressed", "took"],
                    rows: records.map {
                        [
                            "\($0.id)", $0.createdAt, $0.trigger, $0.settings.differentialPrivacy ? "on" : "off",
                            $0.settings.differentialPrivacy ? "\($0.settings.epsilon)" : "-", "\($0.settings.k)",
                            "\($0.summary.persons)", "\($0.summary.pairsReleased)", "\($0.summary.pairsSuppressed)",
                            ReleaseText.seconds($0.durationMilliseconds),
                        ]
                    }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one release's parameters and sizes, and with --pairs every released pair.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Release id, or latest.") var id: String = "latest"
        @Flag(name: .long, help: "Also print every released pair with its released counts.") var pairs = false
        @Option(name: .long, help: "Output format: text, json or csv (csv prints the pairs only).")
        var format: PairsFormat = .text

        enum PairsFormat: String, CaseIterable, ExpressibleByArgument { case text, json, csv }

        func validate() throws {
            guard id == "latest" || Int64(id) != nil else { throw ValidationError("release id must be a number or latest") }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            guard let record = try await admin.store.release(id: Int64(id)) else {
                throw ValidationError(
                    id == "latest" ? "no releases yet; `clearinghouse release now` computes one"
                        : "no release \(id); `clearinghouse release list` shows them")
            }
            let table = pairs || format == .csv ? try await admin.store.releasedTable(id: record.id) : nil
            switch format {
            case .text:
                print(ReleaseText.describe(record))
                if let table {
                    print("")
                    print(Table.render(
                        header: ["item x", "item y", "n_xy", "n_x|ab", "n_y|ab", "n_ab", "lift"],
                        rows: table.pairs.map {
                            [
                                table.catalog.name(of: Int($0.x)), table.catalog.name(of: Int($0.y)), "\($0.both)",
                                "\($0.xWithin)", "\($0.yWithin)", "\($0.overlap)", String(format: "%.3f", $0.lift),
                            ]
                        }))
                }
            case .json:
                if let table {
                    try printJSON(ShownRelease(release: record, pairs: table.pairs.map { PairRow($0, in: table.catalog) }))
                } else {
                    try printJSON(record)
                }
            case .csv:
                guard let table else { return }
                print("item_x,item_y,n_xy,n_x_ab,n_y_ab,n_ab,lift")
                for pair in table.pairs {
                    print(
                        "\(table.catalog.name(of: Int(pair.x))),\(table.catalog.name(of: Int(pair.y))),\(pair.both),"
                            + "\(pair.xWithin),\(pair.yWithin),\(pair.overlap),\(pair.lift)")
                }
            }
        }
    }
}

/// A release with its pairs, for `release show --pairs --format json`.
private struct ShownRelease: Encodable {
    let release: ReleaseRecord
    let pairs: [PairRow]
}

private struct PairRow: Encodable {
    let itemX: String
    let itemY: String
    let nXY: Int64
    let nXWithin: Int64
    let nYWithin: Int64
    let nAB: Int64
    let lift: Double

    init(_ pair: ReleasedPair, in catalog: ReleaseCatalog) {
        itemX = catalog.name(of: Int(pair.x))
        itemY = catalog.name(of: Int(pair.y))
        nXY = pair.both
        nXWithin = pair.xWithin
        nYWithin = pair.yWithin
        nAB = pair.overlap
        lift = pair.lift
    }

    enum CodingKeys: String, CodingKey {
        case lift
        case itemX = "item_x"
        case itemY = "item_y"
        case nXY = "n_xy"
        case nXWithin = "n_x_ab"
        case nYWithin = "n_y_ab"
        case nAB = "n_ab"
    }
}

/// Text rendering of a release for the operator.
enum ReleaseText {
    static func noiseName(_ noise: String) -> String {
        noise == "discrete_gaussian" ? "discrete Gaussian" : noise == "rounded_gaussian" ? "rounded Gaussian" : noise
    }

    static func describe(_ record: ReleaseRecord) -> String {
        let settings = record.settings
        var lines = ["release \(record.id)  created \(record.createdAt)  by \(record.trigger)  took \(seconds(record.durationMilliseconds))"]
        lines.append(
            "  k \(settings.k)  bounds: \(settings.bounds.itemsPerPartner) items per partner, "
                + "\(settings.bounds.partnersPerPerson) partners per person")
        if settings.differentialPrivacy {
            lines.append(
                "  differential privacy on: epsilon \(settings.epsilon) at delta \(settings.delta) (zCDP rho "
                    + String(format: "%.5f", record.plan.rho) + "), \(Self.noiseName(record.plan.noise)) noise sigma "
                    + String(format: "%.1f", record.plan.sigma) + ", noisy threshold \(record.plan.threshold)")
            lines.append(
                "  budget period \(record.budgetPeriod): epsilon left "
                    + String(format: "%.3f", record.epsilonLeft ?? 0))
        } else {
            lines.append("  differential privacy OFF (configuration): exact counts, threshold k; partners see counts bucketed to tens")
        }
        let summary = record.summary
        lines.append(
            "  persons \(summary.persons) (\(summary.personsAtSeveralPartners) at two or more partners), "
                + "signals \(summary.signals), partners \(summary.partners), items \(summary.items)")
        lines.append("  pairs released \(summary.pairsReleased), suppressed \(summary.pairsSuppressed)")
        lines.append(
            "  partner overlaps released \(summary.overlapsReleased), suppressed \(summary.overlapsSuppressed); "
                + "item counts released \(summary.itemCountsReleased), suppressed \(summary.itemCountsSuppressed)")
        lines.append(
            "  partners' own pairs (exact, each readable by its partner only) released \(summary.ownPairsReleased), "
                + "below k \(summary.ownPairsSuppressed)")
        return lines.joined(separator: "\n")
    }

    static func seconds(_ milliseconds: Int64) -> String {
        String(format: "%.2f s", Double(milliseconds) / 1000)
    }
}
