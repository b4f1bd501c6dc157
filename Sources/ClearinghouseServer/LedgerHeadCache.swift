import ClearinghouseCore

/// The ledger's tree head, kept up to date incrementally: each `GET /v1/ledger/head` reads
/// only the entries appended since the last one and folds them into a ``MerkleFrontier``, so
/// its cost does not grow with the ledger (it used to read and rehash every entry).
actor LedgerHeadCache {
    private let store: any ClearinghouseStore
    private var frontier = MerkleFrontier()
    private var lastHash: [UInt8]?

    init(store: any ClearinghouseStore) {
        self.store = store
    }

    /// (entries, hash of the last entry, Merkle root over all entries).
    func head() async throws -> (count: Int, lastHash: [UInt8]?, root: [UInt8]) {
        let appended = try await store.ledgerHashes(after: frontier.count)
        for hash in appended { frontier.append(hash) }
        if let last = appended.last { lastHash = last }
        return (frontier.count, lastHash, frontier.root)
    }
}
