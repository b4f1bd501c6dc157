import ClearinghouseCore

extension SQLiteStore {
    /// SQLite counts in memory only: reading its file is already as fast as counting gets.
    public func databaseCounts(at now: Int64, bounds: ContributionBounds) async throws -> ExactCounts? { nil }
}
