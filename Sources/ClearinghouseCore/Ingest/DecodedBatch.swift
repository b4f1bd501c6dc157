/// A validated batch waiting to be written: what the storage layer receives.
///
/// It holds person keys, never tokens, and it is read by the database writer, which may be
/// another thread, hence `Sendable`.
public struct DecodedBatch: Sendable {
    public let kind: BatchKind
    /// Data lines received (blank lines and a CSV header not counted).
    public let received: Int
    /// Categories of a signal batch, numbered as ``SignalRecord/categoryIndex``.
    public let categories: [String]
    /// SHA-256 of the body's content (after gzip inflation): an idempotent retry must send the
    /// same lines, compressed or not, by any compressor. Stored with the batch and in the ledger.
    public let bodyDigest: [UInt8]
    /// SHA-256 of the bytes as sent, which batches stored by earlier versions were keyed by, so
    /// a retry of one of those is still recognised.
    public let sentDigest: [UInt8]
    let records: SpooledRecords

    /// Whether the batch outgrew the spool's memory limit and was read back from disk.
    public var spilledToDisk: Bool { records.spilled }

    public func forEachSignal(_ body: (SignalRecord) throws -> Void) throws {
        precondition(kind == .signals)
        try records.forEachFrame { frame in
            var offset = 0
            while offset < frame.count {
                try body(
                    SignalRecord(
                        personKey: UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + 32)]),
                        categoryIndex: Int(SpoolRecord.load(UInt32.self, frame, at: offset + 32)),
                        weight: Double(bitPattern: SpoolRecord.load(UInt64.self, frame, at: offset + 36)),
                        observedAt: SpoolRecord.load(Int64.self, frame, at: offset + 44)))
                offset += 52
            }
        }
    }

    public func forEachConsent(_ body: (ConsentRecord) throws -> Void) throws {
        precondition(kind == .consents)
        try records.forEachFrame { frame in
            var offset = 0
            while offset < frame.count {
                let expires = SpoolRecord.load(Int64.self, frame, at: offset + 44)
                let proofLength = Int(SpoolRecord.load(UInt16.self, frame, at: offset + 52))
                try body(
                    ConsentRecord(
                        personKey: UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + 32)]),
                        purposes: SpoolRecord.load(UInt32.self, frame, at: offset + 32),
                        grantedAt: SpoolRecord.load(Int64.self, frame, at: offset + 36),
                        expiresAt: expires == SpoolRecord.noExpiry ? nil : expires,
                        proof: UnsafeRawBufferPointer(rebasing: frame[(offset + 54)..<(offset + 54 + proofLength)])))
                offset += 54 + proofLength
            }
        }
    }

    public func forEachRevocation(_ body: (RevocationRecord) throws -> Void) throws {
        precondition(kind == .revocations)
        try records.forEachFrame { frame in
            var offset = 0
            while offset < frame.count {
                try body(RevocationRecord(personKey: UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + 32)])))
                offset += 32
            }
        }
    }
}
