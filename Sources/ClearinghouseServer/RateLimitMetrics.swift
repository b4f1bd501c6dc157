import Metrics

/// Requests refused by a limit, by which limit (swift-metrics).
enum RateLimitMetrics {
    static func limited(_ kind: String) {
        Counter(label: "clearinghouse_rate_limited_total", dimensions: [("limit", kind)]).increment()
    }
}
