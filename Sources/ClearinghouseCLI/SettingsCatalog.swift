import ClearinghouseCore

/// Every setting of the daemon: its key, type, default and meaning.
///
/// One list serves four purposes: defaults, validation of the configuration file and of
/// `CLEARINGHOUSE_*` environment variables (swift-configuration alone would silently fall back
/// to the default on a mistyped value), the configuration reference, and a test that keeps
/// `config/clearinghouse.json` documenting exactly these settings.
public struct Setting: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case decimal(ClosedRange<Double>)
        case boolean
        case choice([String])
        /// `30m`, `24h`, `7d`, `3600s`, or `off`.
        case interval
        case text
        /// Text that may be empty, meaning "none".
        case optionalText
        case logLevel

        /// Whether the configuration file holds this kind as a JSON string.
        var isString: Bool {
            switch self {
            case .text, .optionalText, .logLevel, .choice, .interval: return true
            case .integer, .decimal, .boolean: return false
            }
        }
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
            key: "storage.url", kind: .optionalText, defaultValue: "",
            summary: "The database: empty (or sqlite:) for the SQLite file in data_dir; postgres://USER@HOST:PORT/DB?sslmode=disable|require|verify-full for PostgreSQL (flag --storage-url). Never a password: see storage.password_file."),
        Setting(
            key: "storage.password_file", kind: .optionalText, defaultValue: "",
            summary: "File (mode 0600) holding the PostgreSQL password, read when CLEARINGHOUSE_STORAGE_PASSWORD is not set."),
        Setting(
            key: "storage.ca_file", kind: .optionalText, defaultValue: "",
            summary: "CA certificate (PEM) that signed the PostgreSQL server's certificate; needed by sslmode=verify-full."),
        Setting(
            key: "cluster.lease_seconds", kind: .integer(2...3600), defaultValue: "30",
            summary: "Several daemons on one database: only the one holding the scheduler lease runs release.every and retention.every; a dead holder's lease passes to another after this many seconds."),
        Setting(
            key: "server.host", kind: .text, defaultValue: "127.0.0.1",
            summary: "Address the daemon listens on; loopback by default (flag --host)."),
        Setting(
            key: "server.port", kind: .integer(0...65535), defaultValue: "8420",
            summary: "TCP port the daemon listens on; 0 picks a free port (flag --port)."),
        Setting(
            key: "metrics.host", kind: .text, defaultValue: "127.0.0.1",
            summary: "Address of the Prometheus listener (GET /metrics), apart from the API so partners cannot read the consortium's activity; loopback by default."),
        Setting(
            key: "metrics.port", kind: .integer(0...65535), defaultValue: "8421",
            summary: "Port of the Prometheus listener; 0 turns it off (flag --metrics-port)."),
        Setting(
            key: "server.idle_timeout_seconds", kind: .integer(1...3600), defaultValue: "60",
            summary: "A connection with no traffic either way for this long is closed."),
        Setting(
            key: "server.request_timeout_seconds", kind: .integer(10...86_400), defaultValue: "900",
            summary: "A request whose body takes longer than this to arrive gets 408 and is closed; nothing is stored."),
        Setting(
            key: "server.max_header_bytes", kind: .integer(1024...(1 << 20)), defaultValue: "16384",
            summary: "Largest request head (request line and headers) in bytes; a larger one gets 400 and the connection closes."),
        Setting(
            key: "tls.certificate_file", kind: .optionalText, defaultValue: "",
            summary: "PEM certificate chain the daemon serves HTTPS with (with tls.key_file; empty: plain HTTP) (flag --tls-certificate)."),
        Setting(
            key: "tls.key_file", kind: .optionalText, defaultValue: "",
            summary: "PEM private key of tls.certificate_file (flag --tls-key)."),
        Setting(
            key: "tls.client_ca_file", kind: .optionalText, defaultValue: "",
            summary: "PEM CA that signs partners' client certificates; when set, every client must present one whose subject CN is its partner id (mutual TLS) (flag --tls-client-ca)."),
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
            key: "ingest.token_profiles", kind: .text, defaultValue: "email-v1,phone-e164-v1",
            summary: "The normalization profile the consortium pins per identifier type; an upload whose Token-Profile header names another is refused (400)."),
        Setting(
            key: "ingest.require_token_profile", kind: .boolean, defaultValue: "false",
            summary: "Refuse uploads without a Token-Profile header (the reference upload client always sends one)."),
        Setting(
            key: "limits.write_per_second", kind: .decimal(0.01...100_000), defaultValue: "10",
            summary: "Write requests (batches) a partner may send per second on average; more get 429 with Retry-After."),
        Setting(
            key: "limits.write_burst", kind: .integer(1...1_000_000), defaultValue: "20",
            summary: "Write requests a partner may send at once before limits.write_per_second applies."),
        Setting(
            key: "limits.read_per_second", kind: .decimal(0.01...100_000), defaultValue: "50",
            summary: "Read requests a partner may send per second on average; more get 429 with Retry-After."),
        Setting(
            key: "limits.read_burst", kind: .integer(1...1_000_000), defaultValue: "100",
            summary: "Read requests a partner may send at once before limits.read_per_second applies."),
        Setting(
            key: "limits.auth_failures_per_minute", kind: .decimal(0.1...10_000), defaultValue: "10",
            summary: "Failed authentications one address may make per minute; past limits.auth_failure_burst the address gets 429 for every request."),
        Setting(
            key: "limits.auth_failure_burst", kind: .integer(1...10_000), defaultValue: "10",
            summary: "Failed authentications one address may make at once before limits.auth_failures_per_minute applies."),
        Setting(
            key: "limits.concurrent_uploads", kind: .integer(1...1000), defaultValue: "4",
            summary: "Uploads one partner may have in flight at once; more get 429 with Retry-After before their body is read."),
        Setting(
            key: "limits.connections_per_address", kind: .integer(1...100_000), defaultValue: "64",
            summary: "Open connections one client address may hold, authenticated or not; a connection past it is closed at once, so a flood of idle connections cannot exhaust the daemon."),
        Setting(
            key: "privacy.k", kind: .integer(PrivacySettings.minimumK...1_000_000), defaultValue: "50",
            summary: "A count is released only if at least k distinct persons make it up; never below 10."),
        Setting(
            key: "privacy.differential_privacy", kind: .boolean, defaultValue: "true",
            summary: "Add calibrated discrete Gaussian noise to every released count (exact integer sampling, zCDP); each release records whether it did."),
        Setting(
            key: "privacy.epsilon", kind: .decimal(0.01...100), defaultValue: "1",
            summary: "Epsilon one release spends (at privacy.delta)."),
        Setting(
            key: "privacy.delta", kind: .decimal(1e-15...1e-4), defaultValue: "0.000001",
            summary: "Delta of the (epsilon, delta) guarantee the zCDP accounting is converted at."),
        Setting(
            key: "privacy.threshold_delta", kind: .decimal(1e-15...1e-4), defaultValue: "0.000000000001",
            summary: "Chance that a cell below k would pass the noisy threshold; sets the threshold above k."),
        Setting(
            key: "privacy.items_per_partner", kind: .integer(1...64), defaultValue: "3",
            summary: "Most items one person contributes per partner (the heaviest by summed weight)."),
        Setting(
            key: "privacy.partners_per_person", kind: .integer(2...64), defaultValue: "3",
            summary: "Most partners one person contributes to per release (the heaviest by summed weight)."),
        Setting(
            key: "privacy.budget_epsilon", kind: .decimal(0.01...10_000), defaultValue: "6.5",
            summary: "Epsilon all releases of one budget period may spend together; a release beyond it is refused."),
        Setting(
            key: "privacy.budget_period", kind: .choice(PrivacyBudget.Period.allCases.map(\.rawValue)), defaultValue: "month",
            summary: "Calendar period (UTC) of the epsilon budget: day, week or month."),
        Setting(
            key: "release.engine", kind: .choice(ReleaseEngine.allCases.map(\.rawValue)), defaultValue: "columnar",
            summary: "Where releases count: columnar (the daemon's copy of the signals in memory, kept true by its own commits and rebuilt after anyone else's; SQLite, elsewhere it scans), memory (a scan of one database snapshot, both backends) or database (SQL in PostgreSQL with the same contribution bounds; for Citus, where no single process should pull every signal)."),
        Setting(
            key: "release.workers", kind: .integer(0...1024), defaultValue: "0",
            summary: "Counting threads of a release (0: one per core); never more than the cores, and accumulators together stay within 64 MiB."),
        Setting(
            key: "release.every", kind: .interval, defaultValue: "24h",
            summary: "The daemon computes a release this often (30m, 24h, 7d), or never with off."),
        Setting(
            key: "retention.signal_days", kind: .integer(1...3650), defaultValue: "365",
            summary: "Signals observed longer ago than this many days are purged."),
        Setting(
            key: "retention.every", kind: .interval, defaultValue: "24h",
            summary: "The daemon purges expired consents with their signals, and old signals, this often (or never with off)."),
        Setting(
            key: "recommend.min_lift", kind: .decimal(1...1000), defaultValue: "1.5",
            summary: "A suggestion's lift must be at least this (cross: lift(X, Y); try instead: both links of every bridge)."),
        Setting(
            key: "recommend.max_direct_lift", kind: .decimal(0...1000), defaultValue: "1.1",
            summary: "Try instead keeps only own items whose direct lift with X in the partner's own data is at most this (or below k)."),
        Setting(
            key: "recommend.baseline_demotion", kind: .decimal(0...1), defaultValue: "0.5",
            summary: "A suggestion the popularity baseline lists too has its score multiplied by this (1 = no demotion)."),
        Setting(
            key: "recommend.baseline_size", kind: .integer(0...100), defaultValue: "\(RecommendationSettings.defaultBaselineSize)",
            summary: "The popularity baseline lists this many most popular candidates, whatever the list's length; unexpectedness is the share of suggestions outside it (0: as long as the list)."),
        Setting(
            key: "recommend.explore_share", kind: .decimal(0...1), defaultValue: "0.2",
            summary: "Share of a list's slots that go to suggestions with few invitations so far (Thompson draws); the rest go to the best posterior acceptance."),
        Setting(
            key: "recommend.explore_invitations", kind: .integer(1...10_000_000), defaultValue: "500",
            summary: "A suggestion with fewer than this many of the partner's own invitations so far is untried: explore slots draw among those."),
        Setting(
            key: "feedback.max_period_days", kind: .integer(1...366), defaultValue: "31",
            summary: "An outcome line's period may last at most this many days."),
        Setting(
            key: "feedback.prior_rate", kind: .decimal(0.0001...0.9999), defaultValue: "0.05",
            summary: "A partner's acceptance rate assumed before it has reported any outcome: the centre of every prior."),
        Setting(
            key: "feedback.prior_strength", kind: .decimal(1...100_000), defaultValue: "20",
            summary: "How many invitations the release's evidence is worth in a suggestion's prior."),
        Setting(
            key: "feedback.pooled_strength", kind: .decimal(0...100_000), defaultValue: "100",
            summary: "The most invitations the consortium's pooled acceptance is worth in a prior (0: priors ignore it)."),
        Setting(
            key: "feedback.pooled_epsilon", kind: .decimal(0.01...100), defaultValue: "0.5",
            summary: "Epsilon (at privacy.delta) each release's pooled acceptance spends, charged to the release's budget period."),
        Setting(
            key: "feedback.pool_days", kind: .integer(1...366), defaultValue: "28",
            summary: "A release pools the outcome periods that lie within this many days before it."),
        Setting(
            key: "feedback.max_lines_per_customer", kind: .integer(1...64), defaultValue: "4",
            summary: "Partners attest a customer is counted in at most this many of their outcome lines within one pooling window; the pooled acceptance's noise is derived from it."),
        Setting(
            key: "portal.session_minutes", kind: .integer(5...1440), defaultValue: "30",
            summary: "A portal sign-in (GET /portal, with a read key) lasts this long; then the marketer signs in again."),
        Setting(
            key: "export.dir", kind: .optionalText, defaultValue: "",
            summary: "After each scheduled release the daemon writes every partner's signed export into DIR/PARTNER/release-ID (empty: no scheduled exports)."),
        Setting(
            key: "log.level", kind: .logLevel, defaultValue: "info",
            summary: "Daemon log level: trace, debug, info, notice, warning, error or critical."),
    ]

    public static func setting(_ key: String) -> Setting? {
        all.first { $0.key == key }
    }
}
