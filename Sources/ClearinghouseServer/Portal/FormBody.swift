import Foundation

/// An `application/x-www-form-urlencoded` body, as the portal's forms post it.
///
/// The portal's forms are small (a key and a CSRF token), so a body past ``maximumBytes`` is
/// refused before it is decoded.
struct FormBody: Sendable {
    static let maximumBytes = 4096
    let fields: [String: String]

    /// Decodes `name=value&...` (`+` is a space, `%XX` a byte); `nil` when it is not valid UTF-8
    /// or percent-encoding. A name given twice keeps its first value.
    init?(_ bytes: [UInt8]) {
        guard let text = String(bytes: bytes, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { return nil }
            guard let value = parts.count > 1 ? Self.decode(parts[1]) : "" else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        self.fields = fields
    }

    subscript(name: String) -> String? { fields[name] }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
