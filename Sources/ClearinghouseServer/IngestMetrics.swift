import ClearinghouseCore
import Metrics

/// The daemon's ingest metrics, through swift-metrics (whatever backend the process bootstraps).
///
/// Counts only: batches by kind and result, lines by kind and outcome, batch durations.
enum IngestMetrics {
    static func batch(kind: BatchKind, result: String) {
        Counter(label: "clearinghouse_batches_total", dimensions: [("kind", kind.rawValue), ("result", result)]).increment()
    }

    /// A stored batch counts its lines; a replay counts only the lines it stored now (a retry
    /// that completed a signal batch), as `completed`, so that no line is counted twice.
    static func stored(_ receipt: BatchReceipt, replayed: Bool, duration: Duration) {
        let completed = replayed ? receipt.acceptedNow ?? 0 : 0
        batch(kind: receipt.kind, result: !replayed ? "stored" : completed > 0 ? "completed" : "replayed")
        guard !replayed || completed > 0 else { return }
        Counter(label: "clearinghouse_lines_total", dimensions: [("kind", receipt.kind.rawValue), ("outcome", "accepted")])
            .increment(by: replayed ? completed : receipt.accepted)
        if !replayed {
            Counter(
                label: "clearinghouse_lines_total", dimensions: [("kind", receipt.kind.rawValue), ("outcome", "dropped_no_consent")]
            ).increment(by: receipt.droppedNoConsent)
        }
        Metrics.Timer(label: "clearinghouse_batch_duration_seconds", dimensions: [("kind", receipt.kind.rawValue)])
            .recordNanoseconds(duration.milliseconds * 1_000_000)
    }
}
