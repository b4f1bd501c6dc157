import ClearinghouseCore
import GRDB

extension SQLiteStore {
    public func recordExport(_ details: ExportLedgerDetails, partner: String, at now: Int64) async throws -> Int64 {
        try await writer.write { db in
            try LedgerAppender.append(db, action: .exportWritten, partner: partner, details: details, at: now, signals: .unchanged, copy: signalCopy).sequence
        }
    }
}
