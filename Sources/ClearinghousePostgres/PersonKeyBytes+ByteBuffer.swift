import ClearinghouseCore
import NIOCore

extension PersonKeyBytes {
    /// A key as a query returns it (`bytea`, 32 bytes).
    init(_ buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytes { PersonKeyBytes($0) }
    }

    /// The 32 bytes, for a query's bind.
    var buffer: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(32)
        buffer.writeInteger(word0)
        buffer.writeInteger(word1)
        buffer.writeInteger(word2)
        buffer.writeInteger(word3)
        return buffer
    }
}
