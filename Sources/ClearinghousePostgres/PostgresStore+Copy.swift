import ClearinghouseCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// Rows in `table`, for the copy's check.
    public func rowCount(_ table: String) async throws -> Int {
        Int(try await fetch(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)")).single(Int64.self))
    }

    /// The rows of every copied table together: a copy refuses a target where this is not 0.
    static let rowsInCopiedTables = PostgresQuery(
        unsafeSQL: "SELECT (\(StorageCopyPlan.tables.map { "(SELECT COUNT(*) FROM \($0.name))" }.joined(separator: " + ")))::bigint")

    /// Loads every table in one transaction, pulling chunks from `next(table)` until it returns
    /// none: a failure anywhere leaves the target as it was (empty). Identity sequences are
    /// moved past the copied ids so new rows do not collide.
    public func load(
        _ next: @escaping @Sendable (StorageCopyPlan.Table) async throws -> [[CopyValue]]?
    ) async throws {
        try await write { connection in
            guard try await connection.query(Self.rowsInCopiedTables, logger: logger).single(Int64.self) == 0 else {
                throw PostgresStoreError.targetNotEmpty
            }
            for table in StorageCopyPlan.tables {
                while let rows = try await next(table) {
                    guard !rows.isEmpty else { continue }
                    try await connection.copyFrom(table: table.name, columns: table.columns, logger: logger) { writer in
                        var buffer = ByteBuffer()
                        for row in rows {
                            for (index, value) in row.enumerated() {
                                if index > 0 { buffer.writeString("\t") }
                                Self.writeCopyText(value, into: &buffer)
                            }
                            buffer.writeString("\n")
                            if buffer.readableBytes > 1 << 20 {
                                try await writer.write(buffer)
                                buffer.clear()
                            }
                        }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                }
            }
            for table in StorageCopyPlan.identityTables {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)"),
                    logger: logger)
            }
        }
    }

    /// One value in COPY's text format: `\N` for NULL, backslash escapes, bytea as `\\x` hex.
    static func writeCopyText(_ value: CopyValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeString("\\N")
        case .integer(let number): buffer.writeString(String(number))
        case .real(let number): buffer.writeString("\(number)")
        case .text(let text):
            var escaped = ""
            escaped.reserveCapacity(text.utf8.count)
            for character in text.unicodeScalars {
                switch character {
                case "\\": escaped += "\\\\"
                case "\t": escaped += "\\t"
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                default: escaped.unicodeScalars.append(character)
                }
            }
            buffer.writeString(escaped)
        case .blob(let bytes): buffer.writeString("\\\\x" + Hex.encode(bytes))
        }
    }
}
