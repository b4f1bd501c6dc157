/// Every setting of the daemon: its key, type, default and meaning.
///
/// One list serves four purposes: defaults, validation of the configuration file and of
/// `CLEARINGHOUSE_*` environment variables (swift-configuration alone would silently fall back
/// to the default on a mistyped value), the configuration reference, and a test that keeps
/// `config/clearinghouse.json` documenting exactly these settings.
public struct Setting: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case text
        case logLevel
    }

    public let key: String
    public let kind: Kind
    public let defaultValue: String
    public let summary: String

    /// The environment variable that overrides this setting.
    public var environmentName: String {
        "CLEARINGHOUSE_" + key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}

public enum SettingsCatalog {
    public static let all: [Setting] = [
        Setting(
            key: "data_dir", kind: .text, defaultValue: "./var",
            summary: "Directory of the SQLite database, the pepper key file and the batch spool (flag --data-dir)."),
        Setting(
            key: "server.host", kind: .text, defaultValue: "127.0.0.1",
            summary: "Address the daemon listens on; loopback by default (flag --host)."),
        Setting(
            key: "server.port", kind: .integer(0...65535), defaultValue: "8420",
            summary: "TCP port the daemon listens on; 0 picks a free port (flag --port)."),
        Setting(
            key: "server.idle_timeout_seconds", kind: .integer(1...3600), defaultValue: "60",
            summary: "A connection with no traffic either way for this long is closed."),
        Setting(
            key: "ingest.max_body_bytes", kind: .integer(1024...(16 << 30)), defaultValue: "268435456",
            summary: "Largest request body as sent (gzip counts compressed); larger bodies get 413 before they are read."),
        Setting(
            key: "ingest.max_decoded_bytes", kind: .integer(1024...(64 << 30)), defaultValue: "1073741824",
            summary: "Largest body after gzip inflation (stops gzip bombs); larger gets 413."),
        Setting(
            key: "ingest.max_line_bytes", kind: .integer(256...(1 << 20)), defaultValue: "8192",
            summary: "Longest line in a batch, in bytes; a longer line rejects the batch."),
        Setting(
            key: "ingest.max_lines_per_batch", kind: .integer(1...100_000_000), defaultValue: "5000000",
            summary: "Most lines in one batch; more gets 413 (split the upload)."),
        Setting(
            key: "ingest.max_errors_reported", kind: .integer(1...1000), defaultValue: "20",
            summary: "Most line errors listed in a rejection; reading stops after these."),
        Setting(
            key: "ingest.max_categories_per_batch", kind: .integer(1...1_000_000), defaultValue: "10000",
            summary: "Most distinct categories in one signal batch."),
        Setting(
            key: "ingest.spool_memory_bytes", kind: .integer(0...(4 << 30)), defaultValue: "16777216",
            summary: "Decoded records of a batch kept in memory before they spill to an unlinked file in data_dir/spool."),
        Setting(
            key: "ingest.future_tolerance_seconds", kind: .integer(0...86_400), defaultValue: "300",
            summary: "How far in the future granted_at and observed_at may lie (clock skew)."),
        Setting(
            key: "log.level", kind: .logLevel, defaultValue: "info",
            summary: "Daemon log level: trace, debug, info, notice, warning, error or critical."),
    ]

    public static func setting(_ key: String) -> Setting? {
        all.first { $0.key == key }
    }
}
