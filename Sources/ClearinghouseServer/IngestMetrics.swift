import ClearinghouseCore
import Metrics

/// The daemon's ingest metrics, through swift-metrics (whatever backend the process bootstraps).
///
/// Counts only: batches by kind and result, lines by kind and outcome, batch durations.
enum IngestMetrics {
    static func batch(kind: BatchKind, result: String) {
        Counter(label: "clearinghouse_batches_total", dimensions: [("kind", kind.rawValue), ("result", result)]).increment()
    }

    static func stored(_ receipt: BatchReceipt, replayed: Bool, duration: Duration) {
        batch(kind: receipt.kind, result: replayed ? "replayed" : "stored")
        guard !replayed else { return }
        Counter(label: "clearinghouse_lines_total", dimensions: [("kind", receipt.kind.rawValue), ("outcome", "accepted")])
            .increment(by: receipt.accepted)
        Counter(
            label: "clearinghouse_lines_total", dimensions: [("kind", receipt.kind.rawValue), ("outcome", "dropped_no_consent")]
        ).increment(by: receipt.droppedNoConsent)
        Metrics.Timer(label: "clearinghouse_batch_duration_seconds", dimensions: [("kind", receipt.kind.rawValue)])
            .recordNanoseconds(duration.milliseconds * 1_000_000)
    }
}
