import ClearinghouseCore
import Hummingbird

/// `GET /v1/ledger/head`: the audit ledger's latest sequence and hash.
///
/// A partner keeps the head (and the ledger entry of each of its batch receipts); later the
/// operator's `clearinghouse audit verify --receipt SEQ:HASH` shows the ledger still holds
/// them, so a rewritten ledger cannot pass unnoticed. It reveals only a count of state changes.
public struct LedgerController: Sendable {
    let store: any ClearinghouseStore

    public init(store: any ClearinghouseStore) {
        self.store = store
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("ledger/head") { _, context in
            _ = try context.requirePartner()
            let head = try await store.ledgerHead()
            return try JSONBody.response(LedgerHead(sequence: head.sequence, hash: Hex.encode(head.hash)))
        }
        return routes
    }
}

struct LedgerHead: Encodable {
    let sequence: Int64
    let hash: String
}
