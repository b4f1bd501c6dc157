/// The `email-v1` rules, applied in order (docs/partners.md, "Normalization profiles"):
///
/// 1. Trim ASCII whitespace from both ends.
/// 2. Refuse anything that is not printable ASCII (internationalized addresses are out of v1).
/// 3. Lowercase A-Z.
/// 4. Exactly one `@`; a local part of 1-64 characters from RFC 5322 `atext` and `.`; a domain of
///    2+ dot-separated labels of `a-z 0-9 -` (1-63 each, no leading or trailing `-`), with a
///    top-level label that is not all digits; 254 characters at most in all.
/// 5. `gmail.com` and `googlemail.com`: the domain becomes `gmail.com`, the local part loses
///    everything from the first `+` and every `.`, and must stay non-empty.
///    Elsewhere the local part is a dot-atom (no leading, trailing or doubled `.`) and is kept.
enum EmailNormalizer {
    static let maxLength = 254
    static let maxLocalLength = 64
    static let maxLabelLength = 63

    static func normalize(_ identifier: String) -> Result<String, NormalizationFailure> {
        let trimmed = ASCIITrim.trimmed(Array(identifier.utf8))
        guard !trimmed.isEmpty else { return .failure(.init("empty", "the e-mail address is empty")) }
        guard trimmed.allSatisfy({ $0 < 0x80 }) else {
            return .failure(.init("non_ascii", "the e-mail address has non-ASCII characters, which email-v1 does not hash; leave it out"))
        }
        guard trimmed.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.init("invalid_character", "the e-mail address has a space or control character inside"))
        }
        let lowered = trimmed.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        guard lowered.count <= maxLength else {
            return .failure(.init("too_long", "the e-mail address is longer than 254 characters"))
        }
        let parts = lowered.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return .failure(.init("missing_at", "the e-mail address has no @")) }
        guard parts.count == 2 else { return .failure(.init("multiple_at", "the e-mail address has more than one @")) }
        var local = Array(parts[0])
        var domain = Array(parts[1])
        guard !local.isEmpty else { return .failure(.init("local_part_empty", "the e-mail address has nothing before the @")) }
        guard local.count <= maxLocalLength else {
            return .failure(.init("local_part_too_long", "the part before the @ is longer than 64 characters"))
        }
        guard local.allSatisfy(isLocalCharacter) else {
            return .failure(.init("local_part_invalid", "the part before the @ has a character an address cannot have (such as \" , ; < > or brackets)"))
        }
        if let problem = domainProblem(domain) { return .failure(problem) }

        if domain == Array("gmail.com".utf8) || domain == Array("googlemail.com".utf8) {
            domain = Array("gmail.com".utf8)
            if let plus = local.firstIndex(of: UInt8(ascii: "+")) { local = Array(local[..<plus]) }
            local.removeAll { $0 == UInt8(ascii: ".") }
            guard !local.isEmpty else {
                return .failure(.init("local_part_empty", "the gmail address has nothing before the @ once dots and the +suffix are removed"))
            }
        } else if local.first == UInt8(ascii: ".") || local.last == UInt8(ascii: ".")
            || zip(local, local.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") })
        {
            return .failure(.init("local_part_invalid", "the part before the @ starts or ends with a dot, or has two dots in a row"))
        }
        return .success(String(decoding: local + [UInt8(ascii: "@")] + domain, as: UTF8.self))
    }

    /// RFC 5322 `atext` (lowercase already) plus `.`.
    private static func isLocalCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("!#$%&'*+/=?^_`{|}~-.".utf8).contains(byte)
        }
    }

    private static func domainProblem(_ domain: [UInt8]) -> NormalizationFailure? {
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let invalid = NormalizationFailure(
            "domain_invalid", "the part after the @ is not a domain name (labels of a-z 0-9 - separated by dots, such as example.com)")
        guard labels.count >= 2 else { return invalid }
        for label in labels {
            guard (1...maxLabelLength).contains(label.count),
                label.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }),
                label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
            else { return invalid }
        }
        if labels.last!.allSatisfy({ (0x30...0x39).contains($0) }) { return invalid }
        return nil
    }
}
