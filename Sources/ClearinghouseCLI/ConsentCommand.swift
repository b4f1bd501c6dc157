import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse consent audit`: the operator's consent audit, per partner.
struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent", abstract: "Audit consents: coverage of stored signals, revocations, proofs.",
        subcommands: [Audit.self, Lookup.self])

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per partner: live, expired and revoked consents, proofs, and the invariants; exits 1 on FAIL.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Only this partner.") var partner: String?
        @Option(name: .customLong("as-of"), help: "Audit as of this RFC 3339 time (default now).") var asOf: String?
        @Option(name: .long, help: "Output format: text, json or csv.") var format: Format = .text

        enum Format: String, CaseIterable, ExpressibleByArgument { case text, json, csv }

        func validate() throws {
            if let asOf, RFC3339.parseMilliseconds(asOf) == nil {
                throw ValidationError("--as-of must be an RFC 3339 time such as 2026-11-23T00:00:00Z")
            }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let report = try await admin.store.consentAudit(
                asOf: asOf.flatMap(RFC3339.parseMilliseconds) ?? WallClock.nowMilliseconds(), partner: partner)
            switch format {
            case .json: try printJSON(report)
            case .csv: print(ConsentAuditText.csv(report))
            case .text: print(ConsentAuditText.text(report))
            }
            if report.verdict != "PASS" { throw ExitCode(1) }
        }
    }
}

extension ConsentCommand {
    /// `consent lookup`: one data subject's consent history at one partner.
    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one person's consent history at one partner, found by re-keying their token; shows no one else.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "The partner the request concerns.") var partner: String
        @Option(name: .long, help: "The person's token (64 hex), as the partner computes it with the consortium salt.")
        var token: String
        @Option(name: .long, help: "The salt key id the token was made under.") var kid: String
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard token.utf8.count == 64, Hex.decode(token) != nil else {
                throw ValidationError("--token must be 64 hexadecimal characters")
            }
            guard (1...64).contains(kid.utf8.count) else { throw ValidationError("--kid must be 1 to 64 characters") }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            guard let deriver = admin.deriver else {
                throw ValidationError("the pepper file \(admin.settings.pepperPath) cannot be read; run this on the daemon's host")
            }
            let key = deriver.personKey(kid: kid, token: Hex.decode(token.lowercased())!)
            let history = try await admin.store.consentHistory(
                partner: partner, personKey: key.bytes, at: WallClock.nowMilliseconds())
            switch format {
            case .json: try printJSON(history)
            case .text:
                print("consent history at \(history.partner): \(history.events.count) ended or superseded, "
                    + "\(history.current == nil ? "none" : "one") current; "
                    + "live consent now: \(history.liveConsent ? "yes" : "no"); signals stored: \(history.signals)")
                for event in history.events + (history.current.map { [$0] } ?? []) {
                    var line = "  \(event.at)  \(event.event)"
                    if let purposes = event.purposes { line += "  purposes \(purposes.joined(separator: ";"))" }
                    if let granted = event.grantedAt { line += "  granted \(granted)" }
                    if let expires = event.expiresAt { line += "  expires \(expires)" }
                    if let proof = event.proof { line += "  proof \(proof)" }
                    print(line)
                }
            }
        }
    }
}

/// Renders the consent audit for a person (text) and a spreadsheet (CSV).
enum ConsentAuditText {
    static func text(_ report: ConsentAuditReport) -> String {
        var lines = ["consent audit as of \(report.asOf)", ""]
        for audit in report.partners {
            lines.append("\(audit.partner) (\(audit.status))")
            let live = audit.liveByPurpose.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("  live consents: \(live); expired \(audit.expired); live without a proof reference \(audit.liveWithoutProof)")
            lines.append("  grants: oldest \(audit.oldestGrant ?? "-"), newest \(audit.newestGrant ?? "-")")
            lines.append(
                "  revoked \(audit.revoked)" + (audit.revoked > 0 ? " (erased between \(audit.firstErasureAt ?? "-") and \(audit.lastErasureAt ?? "-"))" : ""))
            lines.append(
                "  signals \(audit.signals); without consent \(audit.signalsWithoutConsent) (must be 0); "
                    + "of expired consent, awaiting purge \(audit.signalsAwaitingPurge)")
            lines.append("  revocations not fully erased \(audit.revocationsNotErased) (must be 0)")
            lines.append("  verdict: \(audit.verdict)" + (audit.problems.isEmpty ? "" : ": " + audit.problems.joined(separator: "; ")))
            lines.append("")
        }
        lines.append("overall: \(report.verdict)")
        return lines.joined(separator: "\n")
    }

    static func csv(_ report: ConsentAuditReport) -> String {
        var rows = [
            "partner,status,live_affinity,expired,live_without_proof,oldest_grant,newest_grant,revoked,first_erasure_at,last_erasure_at,"
                + "signals,signals_without_consent,signals_awaiting_purge,revocations_not_erased,verdict"
        ]
        for audit in report.partners {
            let fields: [String] = [
                audit.partner, audit.status, "\(audit.liveByPurpose[Purpose.affinity.rawValue] ?? 0)", "\(audit.expired)",
                "\(audit.liveWithoutProof)", audit.oldestGrant ?? "", audit.newestGrant ?? "", "\(audit.revoked)",
                audit.firstErasureAt ?? "", audit.lastErasureAt ?? "", "\(audit.signals)", "\(audit.signalsWithoutConsent)",
                "\(audit.signalsAwaitingPurge)", "\(audit.revocationsNotErased)", audit.verdict,
            ]
            rows.append(fields.joined(separator: ","))
        }
        return rows.joined(separator: "\n")
    }
}
