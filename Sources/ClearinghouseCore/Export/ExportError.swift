/// Why an export could not be written or verified, each saying what to do.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    case keyFile(String)
    case noRelease(String)
    case unknownPartner(String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .keyFile(let message): return message
        case .noRelease(let what):
            return what == "latest"
                ? "no releases yet; `clearinghouse release now` computes one" : "no release \(what); `clearinghouse release list` shows them"
        case .unknownPartner(let partner):
            return "\(partner) has no item in this release (unknown partner, or all its categories were suppressed)"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason); nothing was published for that partner"
        }
    }
}
