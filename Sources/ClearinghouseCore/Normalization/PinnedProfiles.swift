/// The normalization profile the consortium uses for each kind of identifier.
///
/// Tokens match only when every partner normalizes the same way, so the consortium pins one
/// profile per identifier type (setting `ingest.token_profiles`), each upload names the profile
/// its tokens were made with (header `Token-Profile`), and the daemon refuses a batch made with
/// another one before reading it: a partner on `email-v2` while the rest are on `email-v1` would
/// otherwise upload tokens that silently never match.
public struct PinnedProfiles: Sendable, Equatable {
    public let byType: [NormalizationProfile.IdentifierType: NormalizationProfile]
    /// Whether an upload without `Token-Profile` is refused.
    public let required: Bool

    public init(_ profiles: [NormalizationProfile] = NormalizationProfile.allCases, required: Bool = false) {
        var byType: [NormalizationProfile.IdentifierType: NormalizationProfile] = [:]
        for profile in profiles { byType[profile.identifierType] = profile }
        self.byType = byType
        self.required = required
    }

    /// Parses a comma-separated list such as `email-v1,phone-e164-v1`, at most one per identifier type.
    public static func parse(_ list: String, required: Bool) -> Result<PinnedProfiles, NormalizationFailure> {
        var profiles: [NormalizationProfile] = []
        for name in list.split(separator: ",").map({ $0.trimmingSpaces }) where !name.isEmpty {
            guard let profile = NormalizationProfile(rawValue: name) else {
                return .failure(.init("unknown_profile", "\(name) is not a profile; known: \(NormalizationProfile.knownList)"))
            }
            guard !profiles.contains(where: { $0.identifierType == profile.identifierType }) else {
                return .failure(.init("two_profiles_for_one_type", "two profiles for \(profile.identifierType.rawValue); pin one per identifier type"))
            }
            profiles.append(profile)
        }
        guard !profiles.isEmpty else { return .failure(.init("no_profile", "pin at least one profile, such as email-v1")) }
        return .success(PinnedProfiles(profiles, required: required))
    }

    /// The settings value that yields these profiles.
    public var listValue: String {
        NormalizationProfile.allCases.filter { byType[$0.identifierType] == $0 }.map(\.rawValue).joined(separator: ",")
    }

    /// Checks the `Token-Profile` an upload names; `nil` when the batch may be read.
    public func problem(withDeclared declared: String?) -> NormalizationFailure? {
        // Exact match only: HTTP already strips surrounding whitespace, and a header that is
        // present but empty or padded names no profile.
        guard let declared else {
            return required
                ? .init("token_profile_required", "name the normalization profile of the tokens in a Token-Profile header (\(listValue))")
                : nil
        }
        guard let profile = NormalizationProfile(rawValue: declared) else {
            return .init(
                "unknown_token_profile",
                "Token-Profile \(declared.prefix(32)) is not a profile this daemon knows; this consortium uses \(listValue)")
        }
        guard let pinned = byType[profile.identifierType] else {
            return .init(
                "token_profile_mismatch",
                "this consortium does not match \(profile.identifierType.rawValue) identifiers; it uses \(listValue)")
        }
        guard pinned == profile else {
            return .init(
                "token_profile_mismatch",
                "this consortium makes \(profile.identifierType.rawValue) tokens with \(pinned.rawValue), not \(profile.rawValue); "
                    + "hash with \(pinned.rawValue) so your tokens match the other partners'")
        }
        return nil
    }
}

extension NormalizationProfile {
    static var knownList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
