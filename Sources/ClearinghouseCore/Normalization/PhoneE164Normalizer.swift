/// The `phone-e164-v1` rules, applied in order (docs/partners.md, "Normalization profiles"):
///
/// 1. Trim ASCII whitespace from both ends; refuse anything that is not printable ASCII.
/// 2. Remove every `(0)` (the trunk-prefix notation of `+44 (0)20 …`), then the separators
///    space, `-`, `.`, `(`, `)` and `/`.
/// 3. A leading `00` becomes `+`. The number must then start with `+` (a national number has no
///    country code, and guessing one would link the wrong people).
/// 4. After the `+`: digits only (no extensions), the first not `0`, 7 to 15 digits in all.
///
/// The normalized form is `+` and the digits, as in E.164.
enum PhoneE164Normalizer {
    static let digitRange = 7...15

    static func normalize(_ identifier: String) -> Result<String, NormalizationFailure> {
        let trimmed = ASCIITrim.trimmed(Array(identifier.utf8))
        guard !trimmed.isEmpty else { return .failure(.init("empty", "the phone number is empty")) }
        guard trimmed.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            return .failure(.init("invalid_character", "the phone number has a non-ASCII or control character"))
        }
        var text = Array(trimmed)
        let trunk = Array("(0)".utf8)
        var withoutTrunk: [UInt8] = []
        var index = 0
        while index < text.count {
            if text[index...].starts(with: trunk) {
                index += trunk.count
            } else {
                withoutTrunk.append(text[index])
                index += 1
            }
        }
        text = withoutTrunk.filter { !Array(" -.()/".utf8).contains($0) }
        if text.starts(with: Array("00".utf8)) { text = [UInt8(ascii: "+")] + text.dropFirst(2) }
        guard text.first == UInt8(ascii: "+") else {
            return .failure(.init("no_country_code", "the phone number has no country code; write it as +<country code><number> (or 00<country code><number>)"))
        }
        let digits = text.dropFirst()
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return .failure(.init("invalid_character", "the phone number has a character other than digits and separators (an extension or a letter?)"))
        }
        guard digits.first != UInt8(ascii: "0") || digits.isEmpty else {
            return .failure(.init("invalid_country_code", "the country code starts with 0, which no country code does"))
        }
        guard digits.count >= digitRange.lowerBound else {
            return .failure(.init("too_short", "the phone number has fewer than 7 digits with its country code"))
        }
        guard digits.count <= digitRange.upperBound else {
            return .failure(.init("too_long", "the phone number has more than 15 digits, the most E.164 allows"))
        }
        return .success("+" + String(decoding: digits, as: UTF8.self))
    }
}
