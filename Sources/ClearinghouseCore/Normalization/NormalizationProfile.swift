/// A named, versioned rule that turns one kind of identifier into the exact bytes partners hash.
///
/// Two partners match a person only if they hash byte-identical input, so the rules are pinned:
/// a profile id such as `email-v1` names one rule set forever (a change is a new version), the
/// docs/partners.md writes the rules down, and `spec/token-vectors.json` holds test vectors that this code
/// and the partner upload client are both tested against.
public enum NormalizationProfile: String, Sendable, CaseIterable, Codable {
    /// E-mail addresses: trim, lowercase, gmail dot and plus rules (after UID2).
    case emailV1 = "email-v1"
    /// Phone numbers in international E.164 form.
    case phoneE164V1 = "phone-e164-v1"

    /// The kind of identifier a profile normalizes; a consortium pins one profile per kind.
    public enum IdentifierType: String, Sendable, CaseIterable, Codable {
        case email
        case phone
    }

    public var identifierType: IdentifierType {
        switch self {
        case .emailV1: return .email
        case .phoneE164V1: return .phone
        }
    }

    /// The normalized form of `identifier`, or why it cannot be hashed.
    public func normalize(_ identifier: String) -> Result<String, NormalizationFailure> {
        switch self {
        case .emailV1: return EmailNormalizer.normalize(identifier)
        case .phoneE164V1: return PhoneE164Normalizer.normalize(identifier)
        }
    }
}

/// Why an identifier was refused instead of hashed: a stable code for scripts and a sentence for people.
///
/// Neither ever contains the identifier itself, so a rejection can be logged or shown safely.
public struct NormalizationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable, snake_case, shared with the partner client and `spec/token-vectors.json`.
    public let code: String
    /// What is wrong and what to do.
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// The ASCII whitespace both profiles trim from either end: space, tab, LF, VT, FF, CR.
enum ASCIITrim {
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }
}
