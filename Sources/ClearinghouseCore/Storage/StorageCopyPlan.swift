/// One value of a copied row, neutral between backends.
public enum CopyValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// What `clearinghouse storage copy` moves, table by table, in this order (parents before the
/// rows that reference them). Both schemas share these table and column names; ids are kept,
/// so every reference (consent to person, signal to batch, history to batch) stays true, and
/// the ledger's entries, hashes and head move byte for byte. Portal sessions are not copied:
/// after a copy, marketers sign in again.
public enum StorageCopyPlan {
    public struct Table: Sendable {
        public let name: String
        public let columns: [String]
        /// A unique key to read the source in order, chunk after chunk.
        public let orderKey: [String]
    }

    public static let tables: [Table] = [
        Table(name: "meta", columns: ["key", "value"], orderKey: ["key"]),
        Table(name: "partner", columns: ["id", "slug", "name", "status", "created_at"], orderKey: ["id"]),
        Table(
            name: "api_key", columns: ["key_id", "partner_id", "secret_digest", "created_at", "revoked_at", "role", "label"],
            orderKey: ["key_id"]),
        Table(name: "person", columns: ["id", "key"], orderKey: ["id"]),
        Table(name: "category", columns: ["id", "partner_id", "name"], orderKey: ["id"]),
        Table(
            name: "batch", columns: ["id", "partner_id", "kind", "received", "accepted", "body_sha256", "idempotency_key", "receipt", "created_at", "dropped_lines"],
            orderKey: ["id"]),
        Table(
            name: "consent", columns: ["person_id", "partner_id", "purposes", "granted_at", "expires_at", "proof", "batch_id"],
            orderKey: ["partner_id", "person_id"]),
        Table(
            name: "signal", columns: ["person_id", "partner_id", "category_id", "weight", "observed_at", "batch_id"],
            orderKey: ["rowid"]),
        Table(
            name: "release",
            columns: ["id", "created_at", "trigger", "budget_period", "rho", "epsilon_left", "settings", "plan", "summary", "duration_ms", "pairs", "pooled"],
            orderKey: ["id"]),
        Table(name: "ledger", columns: ["sequence", "at", "action", "partner", "details", "previous_hash", "hash"], orderKey: ["sequence"]),
        Table(name: "revocation", columns: ["id", "partner_id", "pseudonym", "batch_id", "at"], orderKey: ["id"]),
        Table(
            name: "consent_event",
            columns: ["id", "partner_id", "pseudonym", "event", "purposes", "granted_at", "expires_at", "proof", "batch_id", "at"],
            orderKey: ["id"]),
        Table(
            name: "outcome",
            columns: [
                "id", "partner_id", "batch_id", "release_id", "kind", "item", "suggested", "period_start", "period_end", "invited",
                "accepted", "in_baseline", "mode", "recorded_at", "replaced_at",
            ],
            orderKey: ["id"]),
    ]

    /// Tables whose ids come from an identity sequence on PostgreSQL (moved past the copied ids).
    public static let identityTables = ["partner", "person", "category", "batch", "release", "revocation", "consent_event", "outcome"]
}
