import ClearinghouseCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Reads `table` in order of its key, `chunk` rows at a time after `after` (the key of the
    /// last row read, `nil` to start): `storage copy` streams a database of any size this way.
    public func copyRows(
        _ table: StorageCopyPlan.Table, after: [CopyValue]?, chunk: Int
    ) async throws -> (rows: [[CopyValue]], last: [CopyValue]?) {
        try await writer.read { db in
            let keys = table.orderKey.joined(separator: ", ")
            var sql = "SELECT \(keys), \(table.columns.joined(separator: ", ")) FROM \(table.name)"
            var arguments = StatementArguments()
            if let after {
                sql += " WHERE (\(keys)) > (\(table.orderKey.map { _ in "?" }.joined(separator: ", ")))"
                for value in after { _ = arguments.append(contentsOf: [Self.databaseValue(value)]) }
            }
            sql += " ORDER BY \(keys) LIMIT \(chunk)"
            var rows: [[CopyValue]] = []
            var last: [CopyValue]?
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try cursor.next() {
                let values = (0..<row.count).map { Self.copyValue(row[$0] as DatabaseValue) }
                last = Array(values[..<table.orderKey.count])
                rows.append(Array(values[table.orderKey.count...]))
            }
            return (rows, last)
        }
    }

    /// Rows in `table`, for the copy's check.
    public func rowCount(_ table: String) async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    static func copyValue(_ value: DatabaseValue) -> CopyValue {
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .text(text)
        case .blob(let data): return .blob(Array(data))
        }
    }

    static func databaseValue(_ value: CopyValue) -> DatabaseValue {
        switch value {
        case .null: return .null
        case .integer(let number): return number.databaseValue
        case .real(let number): return number.databaseValue
        case .text(let text): return text.databaseValue
        case .blob(let bytes): return Data(bytes).databaseValue
        }
    }
}
