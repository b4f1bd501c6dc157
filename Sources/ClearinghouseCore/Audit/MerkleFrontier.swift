/// The right edge of an RFC 6962 Merkle tree: the roots of its perfect subtrees, largest
/// first. Appending a leaf costs O(log n) hashes and the root folds these O(log n) roots, so
/// the ledger's tree head no longer rehashes every entry on every `GET /v1/ledger/head`
/// (the load benchmark found that cost growing with each batch stored).
public struct MerkleFrontier: Sendable, Equatable {
    /// (leaves under it, its root), strictly decreasing powers of two.
    private var subtrees: [(size: Int, root: [UInt8])] = []
    /// Leaves appended so far.
    public private(set) var count = 0

    public init() {}

    public mutating func append(_ leaf: [UInt8]) {
        var node = (size: 1, root: MerkleTree.leafHash(leaf))
        while let last = subtrees.last, last.size == node.size {
            subtrees.removeLast()
            node = (size: last.size * 2, root: MerkleTree.nodeHash(last.root, node.root))
        }
        subtrees.append(node)
        count += 1
    }

    /// MTH of the leaves appended so far, equal to `MerkleTree.root` over them.
    public var root: [UInt8] {
        guard var hash = subtrees.last?.root else { return MerkleTree.root([]) }
        for subtree in subtrees.dropLast().reversed() {
            hash = MerkleTree.nodeHash(subtree.root, hash)
        }
        return hash
    }

    public static func == (lhs: MerkleFrontier, rhs: MerkleFrontier) -> Bool {
        lhs.count == rhs.count && lhs.subtrees.map(\.root) == rhs.subtrees.map(\.root)
    }
}
