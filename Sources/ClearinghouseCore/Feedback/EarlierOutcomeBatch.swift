import Foundation

/// An outcome batch's idempotency record as stored (in the `batch` table, kind `outcomes`),
/// read when a request comes with a key already used. The rule is every batch's: another kind
/// or body under the key is a conflict; the same request is answered from the record.
public struct EarlierOutcomeBatch: Sendable {
    public static let kind = "outcomes"

    public let kind: String
    public let bodyDigest: [UInt8]
    public let receiptJSON: String
    public let createdAt: Int64

    public init(kind: String, bodyDigest: [UInt8], receiptJSON: String, createdAt: Int64) {
        self.kind = kind
        self.bodyDigest = bodyDigest
        self.receiptJSON = receiptJSON
        self.createdAt = createdAt
    }

    /// The answer to the retry, or ``StoreError/idempotencyConflict``.
    public func replay(of batch: OutcomeBatch) throws -> OutcomeReceipt {
        guard kind == Self.kind, bodyDigest == batch.bodyDigest || bodyDigest == batch.sentDigest else {
            throw StoreError.idempotencyConflict
        }
        var receipt = try JSONDecoder().decode(OutcomeReceipt.self, from: Data(receiptJSON.utf8))
        receipt.storedAt = RFC3339.format(milliseconds: createdAt)
        receipt.replayed = true
        return receipt
    }
}

extension OutcomeReceipt {
    /// The receipt as kept for replays (without the answer-only fields), as JSON.
    public func storedJSON() throws -> String {
        var stored = self
        stored.storedAt = nil
        stored.replayed = nil
        return String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
    }
}
