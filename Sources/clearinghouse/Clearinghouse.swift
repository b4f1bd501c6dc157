import ArgumentParser
import ClearinghouseCLI

/// The executable's entry point: all commands live in `ClearinghouseCLI`.
@main
struct Clearinghouse: AsyncParsableCommand {
    static let configuration = ClearinghouseCommand.configuration
}
