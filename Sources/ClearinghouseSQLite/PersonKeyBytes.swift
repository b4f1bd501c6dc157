/// A person key as four words: a hashable dictionary key made without allocating.
///
/// The signal writer caches one consent lookup per person per batch; building an `Array` key
/// per signal would cost an allocation on the hottest loop of the daemon.
struct PersonKeyBytes: Hashable {
    let word0: UInt64
    let word1: UInt64
    let word2: UInt64
    let word3: UInt64

    init(_ raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32)
        word0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        word1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        word2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        word3 = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }
}
