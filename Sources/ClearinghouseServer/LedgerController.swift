import ClearinghouseCore
import Hummingbird

/// `GET /v1/ledger/head` and `GET /v1/ledger/proof`: the audit ledger's head (latest sequence
/// and hash, RFC 6962 tree size and root) and inclusion proofs.
///
/// A partner keeps heads and the ledger entry of each of its batch receipts; with a proof it
/// checks on its own that its entry is in the tree, and the operator's `clearinghouse audit
/// verify --receipt SEQ:HASH` shows the ledger still holds it, so a rewritten ledger cannot
/// pass unnoticed. It reveals only entry hashes and a count of state changes.
public struct LedgerController: Sendable {
    let store: any ClearinghouseStore
    let heads: LedgerHeadCache

    public init(store: any ClearinghouseStore) {
        self.store = store
        self.heads = LedgerHeadCache(store: store)
    }

    public var routes: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("ledger/head") { _, context in
            _ = try context.requirePartner()
            let head = try await heads.head()
            return try JSONBody.response(
                LedgerHead(
                    sequence: Int64(head.count), hash: Hex.encode(head.lastHash ?? LedgerEntry.genesisHash),
                    treeSize: head.count, root: Hex.encode(head.root)))
        }
        routes.get("ledger/proof") { request, context in
            _ = try context.requirePartner()
            let leaves = try await store.ledgerHashes()
            let query = request.uri.queryParameters
            // Malformed numbers are 400; well-formed ones naming an entry or a tree that does not
            // exist (yet) are 404, like any other resource that is not there.
            let size = try query.get("tree_size").map { text -> Int in
                // A whole number too large for Int names a tree that cannot exist: not found.
                if Int(text) == nil, !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), text.first != "0" {
                    throw APIError(.notFound, code: "tree_size_not_found", message: "the ledger has \(leaves.count) entries; ask for a tree up to \(leaves.count)")
                }
                guard let size = Int(text), size >= 1 else {
                    throw APIError(.badRequest, code: "bad_tree_size", message: "tree_size must be a whole number of at least 1")
                }
                guard size <= leaves.count else {
                    throw APIError(
                        .notFound, code: "tree_size_not_found",
                        message: "the ledger has \(leaves.count) entries, so there is no tree of \(size); ask for one up to \(leaves.count)")
                }
                return size
            } ?? leaves.count
            guard let text = query.get("sequence"), let sequence = Int(text), sequence >= 1 else {
                throw APIError(
                    .badRequest, code: "bad_sequence",
                    message: "sequence must be a ledger entry number of at least 1 (the ledger_sequence of a batch answer)")
            }
            guard sequence <= size else {
                throw APIError(
                    .notFound, code: "entry_not_in_tree",
                    message: "entry \(sequence) is not in the tree of \(size) entries; ask with tree_size of at least \(sequence)")
            }
            let tree = leaves.prefix(size)
            return try JSONBody.response(
                LedgerProof(
                    sequence: sequence, treeSize: size, entryHash: Hex.encode(leaves[sequence - 1]),
                    root: Hex.encode(MerkleTree.root(tree)),
                    auditPath: MerkleTree.inclusionProof(index: sequence - 1, leaves: tree).map { Hex.encode($0) }))
        }
        return routes
    }
}

struct LedgerHead: Encodable {
    let sequence: Int64
    let hash: String
    let treeSize: Int
    let root: String

    enum CodingKeys: String, CodingKey {
        case sequence, hash, root
        case treeSize = "tree_size"
    }
}

/// An RFC 6962 inclusion proof of one entry in the tree of `tree_size` entries.
struct LedgerProof: Encodable {
    let sequence: Int
    let treeSize: Int
    let entryHash: String
    let root: String
    let auditPath: [String]

    enum CodingKeys: String, CodingKey {
        case sequence, root
        case treeSize = "tree_size"
        case entryHash = "entry_hash"
        case auditPath = "audit_path"
    }
}
