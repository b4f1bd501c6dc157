import ClearinghouseCore

/// Decoded release tables kept in memory, so reading a release costs one lookup.
///
/// Releases are immutable, so a cached table never goes stale; only the few most recently
/// read are kept, which bounds memory whatever the number of stored releases.
public actor ReleaseCache {
    private let store: any ClearinghouseStore
    private let capacity: Int
    private var tables: [Int64: ReleasedTable] = [:]
    private var order: [Int64] = []

    init(store: any ClearinghouseStore, capacity: Int = 3) {
        self.store = store
        self.capacity = capacity
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
