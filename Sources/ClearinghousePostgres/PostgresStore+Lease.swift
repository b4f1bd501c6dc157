import ClearinghouseCore
import PostgresNIO

extension PostgresStore {
    public func acquireLease(_ name: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool {
        try await leasing { connection in
            // One statement, atomic on its own: the upsert locks the lease row.
            var bindings = PostgresBindings()
            bindings.append(name)
            bindings.append(holder)
            bindings.append(now + ttl)
            bindings.append(now)
            let holders = try await connection.query(
                PostgresQuery(unsafeSQL: LeaseSQL.acquirePostgres, binds: bindings), logger: logger
            ).all(String.self)
            return holders.first == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        _ = try await leasing { connection in
            try await connection.query("DELETE FROM lease WHERE name = \(name) AND holder = \(holder)", logger: logger)
            return true
        }
    }

    public func leaseHolder(_ name: String, at now: Int64) async throws -> String? {
        try await leasing { connection in
            try await connection.query(
                "SELECT holder FROM lease WHERE name = \(name) AND expires_at > \(now)", logger: logger
            ).all(String.self).first
        }
    }
}
