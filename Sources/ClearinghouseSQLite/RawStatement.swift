import GRDB
import GRDBSQLite

/// A cached GRDB statement driven through the SQLite C API.
///
/// The ingest loop binds and steps millions of rows; binding through `sqlite3_bind_*` on
/// GRDB's own prepared statement is about twice as fast as GRDB's argument arrays on this
/// machine class (STACK-NOTES), while GRDB still owns the connection, the transaction and the
/// statement cache. Used inside one `read` or `write` block, on that block's thread.
struct RawStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer

    init(_ db: Database, sql: String) throws {
        let statement = try db.cachedStatement(sql: sql)
        self.handle = statement.sqliteStatement
        self.connection = db.sqliteConnection!
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Resets for the next row, keeping the values bound to parameters that stay the same.
    func resetKeepingBindings() {
        sqlite3_reset(handle)
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    /// Binds a blob without copying: the bytes must stay valid until the next `reset`.
    func bind(_ index: Int32, blob: UnsafeRawBufferPointer) {
        sqlite3_bind_blob(handle, index, blob.baseAddress, Int32(blob.count), nil)
    }

    /// Binds UTF-8 text without copying, or NULL when empty.
    func bind(_ index: Int32, textOrNull bytes: UnsafeRawBufferPointer) {
        if bytes.isEmpty {
            sqlite3_bind_null(handle, index)
        } else {
            sqlite3_bind_text(handle, index, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
        }
    }

    /// Steps a statement that returns no row (INSERT, UPDATE, DELETE).
    func run() throws {
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    /// Steps a query and returns column 0 of its first row as an integer, or `nil` without a row.
    func firstInt64() throws -> Int64? {
        try firstRow { $0.int64(0) }
    }

    /// Steps a query and maps its first row, or returns `nil` without a row. Resets afterwards.
    func firstRow<Value>(_ map: (ColumnReader) -> Value) throws -> Value? {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return map(ColumnReader(handle: handle))
        case SQLITE_DONE: return nil
        default: throw failure(code)
        }
    }

    /// Steps a query to its end, calling `body` with each row. Resets afterwards.
    func forEachRow(_ body: (ColumnReader) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            switch code {
            case SQLITE_ROW: try body(ColumnReader(handle: handle))
            case SQLITE_DONE: return
            default: throw failure(code)
            }
        }
    }

    /// Reads the columns of the current row.
    struct ColumnReader {
        let handle: OpaquePointer
        @inline(__always) func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
        @inline(__always) func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
        func optionalInt64(_ column: Int32) -> Int64? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
        }
        /// A blob column's bytes, valid until the statement steps again; `nil` for NULL.
        func blob(_ column: Int32) -> UnsafeRawBufferPointer? {
            guard let bytes = sqlite3_column_blob(handle, column) else { return nil }
            return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
        }
    }

    /// Rows changed by the last `run`.
    var changes: Int { Int(sqlite3_changes(connection)) }
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(connection) }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
    }
}
