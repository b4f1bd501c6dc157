import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse audit`: check and read the hash-chained audit ledger.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the audit ledger's hash chain, or list its entries.",
        subcommands: [Verify.self, Log.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the ledger's chain; exit non-zero naming the first bad entry.")

        @OptionGroup var options: GlobalOptions
        @Option(
            name: .long, parsing: .singleValue,
            help: "A receipt SEQUENCE:HASH (from a batch answer or GET /v1/ledger/head) the ledger must still hold; repeatable.")
        var receipt: [String] = []

        func validate() throws {
            for text in receipt where LedgerReceipt(text) == nil {
                throw ValidationError("--receipt '\(text)' must be SEQUENCE:HASH, the hash as 64 hexadecimal characters")
            }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let result = try await admin.store.verifyLedger(receipts: receipt.compactMap(LedgerReceipt.init))
            if let finding = result.finding {
                print("FAIL: \(finding)")
                print("entries 1 to \(result.verified) verified before it")
                throw ExitCode(1)
            }
            print("ok: \(result.verified) entries verified; head \(result.headSequence):\(Hex.encode(result.headHash))")
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ledger entries, oldest first.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Only entries at or after this RFC 3339 time.") var since: String?
        @Option(name: .long, help: "Only entries about this partner.") var partner: String?
        @Option(name: .long, help: "Only this action: \(LedgerAction.allCases.map(\.rawValue).joined(separator: ", ")).")
        var action: String?
        @Option(name: .long, help: "Most entries to list (default 1000).") var limit: Int = 1000
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            if let since, RFC3339.parseMilliseconds(since) == nil {
                throw ValidationError("--since must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
            }
            if let action, LedgerAction(rawValue: action) == nil {
                throw ValidationError("--action must be one of \(LedgerAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000000") }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .read)
            let entries = try await admin.store.ledgerEntries(
                LedgerFilter(
                    since: since.flatMap(RFC3339.parseMilliseconds), partner: partner,
                    action: action.flatMap(LedgerAction.init(rawValue:)), limit: limit))
            switch format {
            case .json:
                try printJSON(entries.map(ShownEntry.init))
            case .text:
                for entry in entries {
                    print(
                        "\(entry.sequence)  \(RFC3339.format(milliseconds: entry.at))  \(entry.action.rawValue)  "
                            + "\(entry.partner ?? "-")  \(entry.details)  \(Hex.encode(entry.hash).prefix(16))")
                }
            }
        }
    }
}

/// A ledger entry for JSON output, with hashes in hex and the time in RFC 3339.
private struct ShownEntry: Encodable {
    let sequence: Int64
    let at: String
    let action: String
    let partner: String?
    let details: String
    let previousHash: String
    let hash: String

    init(_ entry: LedgerEntry) {
        sequence = entry.sequence
        at = RFC3339.format(milliseconds: entry.at)
        action = entry.action.rawValue
        partner = entry.partner
        details = entry.details
        previousHash = Hex.encode(entry.previousHash)
        hash = Hex.encode(entry.hash)
    }

    enum CodingKeys: String, CodingKey {
        case sequence, at, action, partner, details, hash
        case previousHash = "previous_hash"
    }
}
