/// How often the daemon computes a release: `30m`, `24h`, `7d`, `3600s`, or `off`.
///
/// Written the way operators write cron-like intervals, not as raw seconds, so a
/// configuration file reads at a glance.
public enum ReleaseInterval {
    /// Seconds, `nil` for `off`; throws a message naming the accepted forms.
    public static func parse(_ text: String) -> Result<Int?, IntervalError> {
        if text == "off" { return .success(nil) }
        guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else { return .failure(.init()) }
        let seconds: Int
        switch unit {
        case "s": seconds = number
        case "m": seconds = number * 60
        case "h": seconds = number * 3600
        case "d": seconds = number * 86_400
        default: return .failure(.init())
        }
        guard seconds >= 60 && seconds <= 366 * 86_400 else { return .failure(.init()) }
        return .success(seconds)
    }

    public struct IntervalError: Error, CustomStringConvertible {
        public var description: String {
            "must be off or a whole number with s, m, h or d, from 60s to 366d (for example 24h)"
        }
    }
}
