/// A person key as four words: a hashable, comparable dictionary key made without allocating.
///
/// The signal writers look every signal's person up in a per-batch table; a `Data` or `Array`
/// key costs an allocation and byte-by-byte hashing on the hottest loop of the daemon (measured
/// on PostgreSQL ingest: a third of the daemon's CPU went to hashing `Data` keys). The words hold
/// the bytes in big-endian order, so comparing them compares the bytes (the order of an index on
/// the key, as `memcmp` gives it).
public struct PersonKeyBytes: Hashable, Comparable, Sendable {
    public let word0: UInt64
    public let word1: UInt64
    public let word2: UInt64
    public let word3: UInt64

    public init(_ raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32)
        word0 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        word1 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        word2 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        word3 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public static func < (left: PersonKeyBytes, right: PersonKeyBytes) -> Bool {
        (left.word0, left.word1, left.word2, left.word3) < (right.word0, right.word1, right.word2, right.word3)
    }
}
