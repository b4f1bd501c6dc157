import Crypto

/// The Merkle tree of RFC 6962 (Certificate Transparency) over the ledger's entry hashes.
///
/// A partner that keeps a tree head (size and root) can check, with a short audit path, that
/// its own batch's entry is in the ledger, without trusting the operator and without seeing
/// any other entry. Leaves are hashed as SHA-256(0x00 || leaf) and nodes as
/// SHA-256(0x01 || left || right), so a leaf can never pass for a node.
public enum MerkleTree {
    public static func leafHash(_ leaf: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0])
        hasher.update(data: leaf)
        return Array(hasher.finalize())
    }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [1])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// MTH(D[n]): the root over `leaves` (SHA-256 of nothing for none).
    public static func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leaves.count {
        case 0: return Array(SHA256.hash(data: [UInt8]()))
        case 1: return leafHash(leaves[leaves.startIndex])
        default:
            let split = largestPowerOfTwo(below: leaves.count)
            return nodeHash(root(leaves.prefix(split)), root(leaves.dropFirst(split)))
        }
    }

    public static func root(_ leaves: [[UInt8]]) -> [UInt8] { root(leaves[...]) }

    /// PATH(m, D[n]): the audit path proving leaf `index` is in the tree over `leaves`.
    public static func inclusionProof(index: Int, leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(index >= 0 && index < leaves.count)
        guard leaves.count > 1 else { return [] }
        let split = largestPowerOfTwo(below: leaves.count)
        if index < split {
            return inclusionProof(index: index, leaves: leaves.prefix(split)) + [root(leaves.dropFirst(split))]
        }
        return inclusionProof(index: index - split, leaves: leaves.dropFirst(split)) + [root(leaves.prefix(split))]
    }

    /// Checks an audit path (RFC 9162, 2.1.3.2): does `leaf` sit at `index` of the tree of
    /// `treeSize` leaves with `root`?
    public static func verifyInclusion(leaf: [UInt8], index: Int, treeSize: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index
        var sn = treeSize - 1
        var hash = leafHash(leaf)
        for sibling in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = nodeHash(sibling, hash)
                if fn & 1 == 0 {
                    repeat {
                        fn >>= 1
                        sn >>= 1
                    } while fn & 1 == 0 && fn != 0
                }
            } else {
                hash = nodeHash(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }

    /// The largest power of two strictly less than `count` (count >= 2).
    static func largestPowerOfTwo(below count: Int) -> Int {
        var power = 1
        while power << 1 < count { power <<= 1 }
        return power
    }
}
