import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse partner`: onboard partners and manage their API keys.
struct PartnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner",
        abstract: "Add, list, disable partners and rotate their API keys.",
        subcommands: [Add.self, List.self, RotateKey.self, Disable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a partner and print its API key (shown this once only).")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id: \(PartnerID.rule), e.g. acme.") var id: String
        @Option(name: .long, help: "Display name of the partner firm.") var name: String
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else {
                throw ValidationError("--name must be 1 to 200 characters")
            }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .write)
            let key = APIKey.generate()
            try await admin.store.addPartner(id: PartnerID(id)!, name: name, key: key, at: WallClock.nowMilliseconds())
            switch format {
            case .text:
                print("partner \(id) added")
                print("API key (shown once; store it in the partner's secret store now):")
                print(key.text)
            case .json:
                try printJSON(["id": id, "name": name, "api_key": key.text])
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partners, their status and live key id.")

        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func run() async throws {
            let partners = try await AdminContext.open(options, access: .read).store.partners()
            switch format {
            case .json:
                try printJSON(partners)
            case .text:
                guard !partners.isEmpty else {
                    print("no partners yet; add one with `clearinghouse partner add ID --name NAME`")
                    return
                }
                print(Table.render(
                    header: ["id", "name", "status", "key id", "created"],
                    rows: partners.map { [$0.id, $0.name, $0.status, $0.keyID ?? "-", $0.createdAt] }))
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Give a partner a new API key; the old one stops working at once.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id.") var id: String
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .write)
            let key = APIKey.generate()
            try await admin.store.rotateKey(partner: PartnerID(id)!, key: key, at: WallClock.nowMilliseconds())
            switch format {
            case .text:
                print("partner \(id): new API key (shown once; the old key no longer works):")
                print(key.text)
            case .json:
                try printJSON(["id": id, "api_key": key.text])
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a partner: its keys stop working; its stored data stays until revoked or purged.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id.") var id: String

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
        }

        func run() async throws {
            try await AdminContext.open(options, access: .write).store.disablePartner(PartnerID(id)!, at: WallClock.nowMilliseconds())
            print("partner \(id) disabled")
        }
    }
}
