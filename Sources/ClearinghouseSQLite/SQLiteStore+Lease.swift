import ClearinghouseCore
import GRDB

extension SQLiteStore {
    public func acquireLease(_ name: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool {
        try await writer.write { db in
            try String.fetchOne(db, sql: LeaseSQL.acquire, arguments: [name, holder, now + ttl, now]) == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM lease WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func leaseHolder(_ name: String, at now: Int64) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT holder FROM lease WHERE name = ? AND expires_at > ?", arguments: [name, now])
        }
    }
}
