import ClearinghouseCore
import Metrics

/// The daemon's metrics besides requests (Hummingbird's `MetricsMiddleware`), ingest
/// (``IngestMetrics``) and limits (``RateLimitMetrics``), through swift-metrics. Labels are
/// bounded values only.
enum DaemonMetrics {
    /// A request whose API key was refused, by why (malformed, unknown or unusable, certificate).
    static func authenticationRefused(_ reason: String) {
        Counter(label: "clearinghouse_authentication_refused_total", dimensions: [("reason", reason)]).increment()
    }

    /// The database failed an operation (ingest, authenticate, release, purge).
    static func storageError(_ operation: String) {
        Counter(label: "clearinghouse_storage_errors_total", dimensions: [("operation", operation)]).increment()
    }

    /// Uploads being read or stored right now.
    static let uploadsInFlight = Meter(label: "clearinghouse_uploads_in_flight")

    /// A stored release: its duration, its size, and the budget after it.
    static func released(_ record: ReleaseRecord, spentRho: Double?) {
        Counter(label: "clearinghouse_releases_total").increment()
        Metrics.Timer(label: "clearinghouse_release_duration_seconds").recordMilliseconds(record.durationMilliseconds)
        Gauge(label: "clearinghouse_release_pairs_released").record(record.summary.pairsReleased)
        Gauge(label: "clearinghouse_release_pairs_suppressed").record(record.summary.pairsSuppressed)
        if let spentRho { Gauge(label: "clearinghouse_budget_rho_spent").record(spentRho) }
        if let left = record.epsilonLeft { Gauge(label: "clearinghouse_budget_epsilon_left").record(left) }
    }

    /// A scheduled release refused (budget spent, bad settings) or failed.
    static func releaseNotStored(_ result: String) {
        Counter(label: "clearinghouse_releases_not_stored_total", dimensions: [("result", result)]).increment()
    }
}
