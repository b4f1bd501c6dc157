import Testing

@testable import ClearinghouseCore

@Suite("RFC 6962 Merkle tree")
struct MerkleTreeTests {
    /// The test vectors of Certificate Transparency's reference implementation.
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43], Array(0x50...0x57), Array(0x60...0x6f),
    ]
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    @Test("roots match the reference vectors")
    func roots() {
        #expect(Hex.encode(MerkleTree.root([[UInt8]]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for size in 1...8 {
            #expect(Hex.encode(MerkleTree.root(Self.leaves[..<size])) == Self.roots[size - 1])
        }
    }

    @Test("the frontier's root after each append equals the full tree's root, and the reference vectors")
    func frontier() {
        var frontier = MerkleFrontier()
        #expect(frontier.root == MerkleTree.root([[UInt8]]()))
        for size in 1...8 {
            frontier.append(Self.leaves[size - 1])
            #expect(Hex.encode(frontier.root) == Self.roots[size - 1])
        }
        var leaves: [[UInt8]] = []
        var grown = MerkleFrontier()
        for index in 0..<300 {
            leaves.append(Array("entry-\(index)".utf8))
            grown.append(leaves[index])
            #expect(grown.root == MerkleTree.root(leaves), "size \(index + 1)")
            #expect(grown.count == index + 1)
        }
    }

    @Test("every inclusion proof verifies, and fails for another leaf, index or root")
    func inclusionProofs() {
        let leaves = (0..<37).map { [UInt8(truncatingIfNeeded: $0), 0xAB] }
        for size in 1...leaves.count {
            let tree = leaves[..<size]
            let root = MerkleTree.root(tree)
            for index in 0..<size {
                let proof = MerkleTree.inclusionProof(index: index, leaves: tree)
                #expect(MerkleTree.verifyInclusion(leaf: leaves[index], index: index, treeSize: size, proof: proof, root: root))
                #expect(!MerkleTree.verifyInclusion(leaf: [0xFF], index: index, treeSize: size, proof: proof, root: root))
                if size > 1 {
                    #expect(!MerkleTree.verifyInclusion(leaf: leaves[index], index: (index + 1) % size, treeSize: size, proof: proof, root: root))
                    #expect(!MerkleTree.verifyInclusion(leaf: leaves[index], index: index, treeSize: size, proof: proof, root: MerkleTree.leafHash([])))
                }
            }
        }
    }
}
