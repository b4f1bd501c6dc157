import ArgumentParser
import ClearinghouseCore

/// `clearinghouse salt new`: makes the consortium salt the partners share among themselves.
///
/// The daemon never reads it; it lives here so that a consortium has one trusted way to make
/// one (32 bytes from the system's secure generator, written 0600, never over another salt).
struct SaltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salt",
        abstract: "Make the consortium salt partners hash identifiers with (the daemon never needs it).",
        subcommands: [New.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Write a new random 32-byte salt with its key id to a file (mode 0600); never overwrites.")

        @Option(name: .long, help: "Key id of the salt, sent as `kid` with every upload (1-64 of A-Z a-z 0-9 . _ -), e.g. 2026-q4.")
        var kid: String

        @Option(name: .long, help: "File to create; it must not exist yet.")
        var out: String

        func validate() throws {
            guard ConsortiumSalt.isValidKid(kid) else { throw ValidationError(ConsortiumSalt.Failure.badKid.description) }
        }

        func run() async throws {
            let salt = try ConsortiumSalt.create(kid: kid, at: out)
            print("wrote the consortium salt \(salt.kid) to \(out) (mode 0600)")
            print("give it to each partner over a channel the daemon operator cannot read; never to the daemon")
        }
    }
}
