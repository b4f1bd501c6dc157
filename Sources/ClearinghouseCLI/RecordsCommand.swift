import ArgumentParser
import ClearinghouseCore

/// `clearinghouse records`: the GDPR Art. 30 record of processing of this deployment, from
/// its configuration and partners, so the record always matches what the daemon does.
struct RecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "Print the Art. 30 record of processing for this deployment.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let admin = try await AdminContext.open(options, access: .read)
        let settings = admin.settings
        let partners = try await admin.store.partners()
        let privacy = settings.privacy
        let record = ProcessingRecord(
            controllers: partners.map { "\($0.name) (\($0.id), \($0.status))" },
            purposes: [
                "affinity: aggregate cross-brand affinities (counts of at least k = \(privacy.k) distinct persons"
                    + (privacy.differentialPrivacy ? ", differentially private, epsilon \(privacy.epsilon) per release" : "")
                    + ") and recommendations derived from them"
            ],
            dataSubjects: ["customers of the partners who gave consent for the affinity purpose"],
            dataCategories: [
                "person keys: HMAC-SHA256 under the daemon's pepper of partners' salted identifier hashes (no identifier, no token stored)",
                "consent records: partner, purposes, granted and expiry times, proof reference",
                "signals: partner, category, weight, observation time",
                "revocation records: partner, keyed pseudonym, time",
            ],
            recipients: partners.map { "\($0.id): its own items' released aggregates only" },
            transfers: "none: the daemon runs on the operator's host (\(settings.host)); partners upload to it",
            retention: [
                "signals: until consent expires or is revoked, at most \(settings.signalRetentionDays) days after observation",
                "consents: until expiry (purged \(settings.purgeEverySeconds.map { "every \($0 / 3600) h" } ?? "by `clearinghouse purge`")) or revocation (erased at once)",
                "releases: aggregates kept as released; audit ledger: kept",
            ],
            securityMeasures: [
                "pseudonymisation: person keys under a pepper kept outside the database (0600); the daemon never holds the consortium salt",
                "erasure without copies: secure_delete and a WAL checkpoint after every erasure",
                "k-anonymity threshold (k = \(privacy.k)), contribution bounds, "
                    + (privacy.differentialPrivacy ? "discrete Gaussian noise with a per-\(settings.budget.period.rawValue) epsilon budget of \(settings.budget.epsilonPerPeriod)" : "noise OFF by configuration"),
                "API keys stored only as HMAC digests, compared in constant time",
                "hash-chained audit ledger of every state change (`clearinghouse audit verify`)",
                "durable atomic batches (SQLite WAL, synchronous=FULL)",
            ])
        switch format {
        case .json: try printJSON(record)
        case .text: print(record.text)
        }
    }
}

/// The Art. 30(1) headings, filled in from the deployment.
private struct ProcessingRecord: Encodable {
    let controllers: [String]
    let purposes: [String]
    let dataSubjects: [String]
    let dataCategories: [String]
    let recipients: [String]
    let transfers: String
    let retention: [String]
    let securityMeasures: [String]

    var text: String {
        func section(_ title: String, _ items: [String]) -> String {
            "\(title)\n" + (items.isEmpty ? "  (none yet)" : items.map { "  - \($0)" }.joined(separator: "\n"))
        }
        return [
            "Record of processing activities (GDPR Art. 30)",
            section("Controllers (the consortium's partners, jointly)", controllers),
            section("Purposes", purposes),
            section("Categories of data subjects", dataSubjects),
            section("Categories of personal data", dataCategories),
            section("Recipients", recipients),
            section("Transfers to third countries", [transfers]),
            section("Retention", retention),
            section("Technical and organisational security measures (Art. 32)", securityMeasures),
        ].joined(separator: "\n\n")
    }

    enum CodingKeys: String, CodingKey {
        case controllers, purposes, recipients, transfers, retention
        case dataSubjects = "data_subjects"
        case dataCategories = "data_categories"
        case securityMeasures = "security_measures"
    }
}
