import ArgumentParser
import ClearinghouseCore

#if canImport(Glibc)
import Glibc
#endif

/// `clearinghouse token`: identifiers on stdin, tokens on stdout, by a pinned profile.
///
/// The reference implementation of "identifier → token" for partners who build their own
/// pipeline: compare its output with yours on your own data before the first upload. Output
/// keeps line alignment (a refused identifier gives an empty line) so it can be pasted beside
/// the input; refusals go to stderr by line number and never repeat the identifier.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Normalize and hash identifiers read from stdin (one per line) into tokens on stdout.",
        discussion: "A refused identifier (not an e-mail, no country code, ...) gives an empty output line and a reason on stderr; the exit status is then 1.")

    @Option(name: .long, help: "The consortium salt file (from `clearinghouse salt new`).")
    var saltFile: String

    @Option(name: .long, help: "Normalization profile: \(NormalizationProfile.allCases.map(\.rawValue).joined(separator: ", ")).")
    var profile: String

    @Flag(name: .long, help: "Print `kid,token` per line instead of the token alone.")
    var withKid = false

    func validate() throws {
        guard NormalizationProfile(rawValue: profile) != nil else {
            throw ValidationError("--profile must be one of \(NormalizationProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let profile = NormalizationProfile(rawValue: profile)!
        let salt = try ConsortiumSalt.load(at: saltFile)
        var output = ""
        output.reserveCapacity(1 << 16)
        var lineNumber = 0
        var refused = 0
        var hashed = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            switch salt.token(for: line, profile: profile) {
            case .success(let token):
                hashed += 1
                output += withKid ? "\(salt.kid),\(token)\n" : "\(token)\n"
            case .failure(let failure):
                refused += 1
                output += "\n"
                FileDescriptorText.write("line \(lineNumber): refused, \(failure.code): \(failure.message)\n", to: STDERR_FILENO)
            }
            if output.utf8.count >= 1 << 16 {
                FileDescriptorText.write(output, to: STDOUT_FILENO)
                output.removeAll(keepingCapacity: true)
            }
        }
        FileDescriptorText.write(output, to: STDOUT_FILENO)
        if refused > 0 {
            FileDescriptorText.write("\(hashed) tokens (\(profile.rawValue), kid \(salt.kid)), \(refused) refused\n", to: STDERR_FILENO)
            throw ExitCode(1)
        }
    }
}

/// Unbuffered writes of text to a file descriptor, so stdout and stderr interleave in order.
enum FileDescriptorText {
    static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
