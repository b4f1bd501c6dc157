/// A release as a request names it: `latest` or its id (`[1-9][0-9]*`, the spec's pattern).
///
/// One parse for the API's `{release}` path parameter and the portal's `?release=`, so both
/// accept and refuse the same texts.
enum ReleaseReference: Equatable {
    case latest
    case id(Int64)
    /// Well formed but past Int64: no release can have that id (a 404, not a 400).
    case beyondAnyID

    /// `nil` when the text is neither `latest` nor a positive number without a leading zero.
    init?(_ text: String) {
        if text == "latest" {
            self = .latest
            return
        }
        guard let first = text.utf8.first, first != UInt8(ascii: "0"),
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        self = Int64(text).map(ReleaseReference.id) ?? .beyondAnyID
    }
}
