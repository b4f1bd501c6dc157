/// Escapes text for HTML and SVG, in element content and in quoted attribute values alike.
///
/// The export report and the portal's heatmap build markup by hand around names that come from
/// partners' uploads (categories, partner ids); every such name goes through here.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
