import ClearinghouseCore

/// Decoded release tables and the decoded release list kept in memory, so reading a release
/// costs one lookup.
///
/// Releases are immutable, so a cached table never goes stale; only the few most recently
/// read are kept, which bounds memory whatever the number of stored releases. The list is
/// decoded again only when the latest release is another one: releases are stored one at a
/// time (SQLite's single writer, PostgreSQL's ledger lock), so ids grow in commit order and a
/// new release is always the new latest. Without it every read of the list, the budget or a
/// recommendation decoded every stored release, and reads slowed as releases accumulated.
public actor ReleaseCache {
    private let store: any ClearinghouseStore
    private let capacity: Int
    private var tables: [Int64: ReleasedTable] = [:]
    private var order: [Int64] = []
    private var records: [ReleaseRecord]?

    init(store: any ClearinghouseStore, capacity: Int = 3) {
        self.store = store
        self.capacity = capacity
    }

    /// Every stored release, newest first.
    func releases() async throws -> [ReleaseRecord] {
        let latest = try await store.release(id: nil)
        if let records, records.first?.id == latest?.id { return records }
        let fresh = try await store.releases()
        records = fresh
        return fresh
    }

    func table(_ id: Int64) async throws -> ReleasedTable? {
        if let table = tables[id] {
            order.removeAll { $0 == id }
            order.append(id)
            return table
        }
        guard let table = try await store.releasedTable(id: id) else { return nil }
        tables[id] = table
        order.append(id)
        if order.count > capacity { tables[order.removeFirst()] = nil }
        return table
    }
}
