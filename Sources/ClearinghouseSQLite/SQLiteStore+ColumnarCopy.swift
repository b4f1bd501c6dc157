import ClearinghouseCore
import Foundation
import GRDB
import GRDBSQLite
import Metrics

extension SQLiteStore {
    /// Counts the release from the columnar copy (see ``SignalCopy``), building it from one
    /// read transaction when this process has none or another process has committed since.
    public func columnarCounts(at now: Int64, bounds: ContributionBounds, threads: Int) async throws -> ExactCounts? {
        let writer = self.writer
        let counted = try await signalCopy.exactCounts(
            readView: { try await writer.read { db in try ReleaseRead.view(db, now: now) } },
            build: { try await buildColumnarCopy() },
            bounds: bounds, threads: threads)
        if counted == nil {
            logger.warning("the columnar copy could not be matched with the database; it is dropped and this release reads the signals itself")
        }
        return counted
    }

    public func prepareColumnarCopy() async throws {
        _ = try await signalCopy.warm(build: { try await buildColumnarCopy() })
    }

    /// Reads every stored signal grouped by person in one read transaction
    /// (``ReleaseRead/columns(_:mark:)``): the copy is the state of that transaction's snapshot,
    /// named by its ledger mark.
    func buildColumnarCopy() async throws -> ColumnarSignals? {
        let clock = ContinuousClock()
        let started = clock.now
        let built = try await writer.read { db -> ColumnarSignals? in
            try ReleaseRead.columns(db, mark: try ReleaseRead.ledgerMark(db))
        }
        let elapsed = clock.now - started
        if let built {
            Gauge(label: "clearinghouse_release_copy_bytes").record(built.bytes)
            Counter(label: "clearinghouse_release_copy_builds_total").increment()
            logger.notice(
                "columnar copy of the signals built",
                metadata: [
                    "copy.signals": "\(built.liveSignals)", "copy.mib": "\(built.bytes >> 20)", "copy.ledger_mark": "\(built.mark)",
                    "copy.seconds": "\(elapsed.components.seconds).\(String(format: "%03d", elapsed.components.attoseconds / 1_000_000_000_000_000))",
                ])
        }
        return built
    }
}
