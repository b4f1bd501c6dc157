import ArgumentParser
import ClearinghouseCore
import Foundation

/// `clearinghouse partner`: onboard partners and manage their API keys.
struct PartnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner",
        abstract: "Add, list, disable partners and manage their API keys (upload keys and read-only keys).",
        subcommands: [Add.self, List.self, RotateKey.self, AddKey.self, Keys.self, RevokeKey.self, Disable.self])

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
            commandName: "rotate-key",
            abstract: "Give a partner a new upload key; the old upload keys stop working at once (read keys stay).")

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

    struct AddKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key",
            abstract: "Give a partner one more API key and print it (shown this once only).",
            discussion: """
                A read key (--role read) may call every GET its partner may call and nothing else: hand it to \
                the partner's marketers for the portal (GET /portal) or to a dashboard. An upload key may do everything.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id.") var id: String
        @Option(name: .long, help: "What the key may do: read (GET only; the portal) or upload (everything).") var role: KeyRole
        @Option(name: .long, help: "Who or what holds the key, for `partner keys` (up to 100 characters).") var label: String?
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
            if let label {
                guard !label.trimmingCharacters(in: .whitespaces).isEmpty, label.count <= 100,
                    !label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else { throw ValidationError("--label must be 1 to 100 printable characters") }
            }
        }

        func run() async throws {
            let admin = try await AdminContext.open(options, access: .write)
            let key = APIKey.generate()
            try await admin.store.addKey(partner: PartnerID(id)!, key: key, role: role, label: label, at: WallClock.nowMilliseconds())
            switch format {
            case .text:
                print("partner \(id): new \(role) key \(key.keyID) (shown once; store it in a secret store now):")
                print(key.text)
            case .json:
                var answer = ["id": id, "role": role.rawValue, "key_id": key.keyID, "api_key": key.text]
                if let label { answer["label"] = label }
                try printJSON(answer)
            }
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a partner's keys: id, role, label, created, revoked (never a secret).")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id.") var id: String
        @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
        }

        func run() async throws {
            let keys = try await AdminContext.open(options, access: .read).store.keys(partner: PartnerID(id)!)
            switch format {
            case .json:
                try printJSON(keys)
            case .text:
                print(Table.render(
                    header: ["key id", "role", "label", "created", "revoked"],
                    rows: keys.map { [$0.keyID, $0.role.rawValue, $0.label ?? "-", $0.createdAt, $0.revokedAt ?? "-"] }))
            }
        }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-key",
            abstract: "Revoke one key of a partner: it stops working at once, with every portal session signed in with it.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Partner id.") var id: String
        @Argument(help: "Key id (from `partner keys`).") var keyID: String

        func validate() throws {
            guard PartnerID(id) != nil else { throw ValidationError("partner id '\(id)' must be \(PartnerID.rule)") }
        }

        func run() async throws {
            try await AdminContext.open(options, access: .write).store.revokeKey(
                partner: PartnerID(id)!, keyID: keyID, at: WallClock.nowMilliseconds())
            print("partner \(id): key \(keyID) revoked")
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

extension KeyRole: ExpressibleByArgument {}
