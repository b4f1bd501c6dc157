/// The compact binary form of a decoded line while it waits in a ``BatchSpool``.
///
/// The token is gone by now: a record carries the 32-byte person key only. Layouts
/// (little-endian):
/// - signal: key[32] category:u32 weight:f64 observed_at:i64 (52 bytes)
/// - consent: key[32] purposes:u32 granted_at:i64 expires_at:i64 (Int64.min = none)
///   proof_length:u16 proof[proof_length] (54 bytes + proof)
/// - revocation: key[32]
enum SpoolRecord {
    static let noExpiry = Int64.min

    static func appendKey(_ key: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(contentsOf: key)
    }

    static func append<Value: FixedWidthInteger>(_ value: Value, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func load<Value: FixedWidthInteger>(_ type: Value.Type, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Value {
        Value(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Value.self))
    }
}

/// A stored-to-be signal, as read back from the spool. Views are valid during the callback only.
public struct SignalRecord {
    public let personKey: UnsafeRawBufferPointer
    /// Index into ``DecodedBatch/categories``.
    public let categoryIndex: Int
    public let weight: Double
    public let observedAt: Int64
}

/// A consent record, as read back from the spool. Views are valid during the callback only.
public struct ConsentRecord {
    public let personKey: UnsafeRawBufferPointer
    public let purposes: UInt32
    public let grantedAt: Int64
    public let expiresAt: Int64?
    /// Empty when the line carried no proof reference.
    public let proof: UnsafeRawBufferPointer
}

/// A revocation, as read back from the spool. The view is valid during the callback only.
public struct RevocationRecord {
    public let personKey: UnsafeRawBufferPointer
}
