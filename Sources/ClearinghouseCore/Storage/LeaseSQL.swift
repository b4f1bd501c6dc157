/// The lease statement both backends run (SQLite and PostgreSQL share the upsert syntax): take
/// the lease when it is free, renew it when the caller holds it, leave it when another holder's
/// lease has not expired. Parameters: name, holder, expires_at, now; it returns a row exactly when
/// the caller holds the lease afterwards.
public enum LeaseSQL {
    public static let acquire = """
        INSERT INTO lease (name, holder, expires_at) VALUES (?1, ?2, ?3)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE lease.holder = excluded.holder OR lease.expires_at <= ?4
        RETURNING holder
        """

    /// The same with PostgreSQL's `$n` parameters.
    public static var acquirePostgres: String {
        acquire.replacingOccurrences(of: "?1", with: "$1").replacingOccurrences(of: "?2", with: "$2")
            .replacingOccurrences(of: "?3", with: "$3").replacingOccurrences(of: "?4", with: "$4")
    }
}
