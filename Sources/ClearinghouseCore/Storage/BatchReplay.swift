/// A batch's idempotency record as stored, read when a request comes with a key already used.
///
/// The rule is the same on every backend: another kind or body under the key is a conflict; the
/// same request is answered from the record, and a signal batch that dropped lines for missing
/// consent first stores those of its dropped lines that consents cover now (``DroppedLines``).
public struct EarlierBatch: Sendable {
    public let batchID: Int64
    public let kind: String
    public let bodyDigest: [UInt8]
    public let receipt: BatchReceipt
    public let createdAt: Int64
    /// Lines still dropped for missing consent; nil when none is (or for a batch stored before
    /// the daemon kept them, which is answered as a plain replay).
    public let dropped: DroppedLines?

    public init(batchID: Int64, kind: String, bodyDigest: [UInt8], receipt: BatchReceipt, createdAt: Int64, dropped: [UInt8]?) {
        self.batchID = batchID
        self.kind = kind
        self.bodyDigest = bodyDigest
        self.receipt = receipt
        self.createdAt = createdAt
        self.dropped = dropped.map(DroppedLines.init(bytes:))
    }

    /// Throws ``StoreError/idempotencyConflict`` unless `batch` is the request first sent: the
    /// same kind and content (or, for a batch stored by an earlier version, the same bytes).
    public func checkSameRequest(_ batch: DecodedBatch) throws {
        guard kind == batch.kind.rawValue, bodyDigest == batch.bodyDigest || bodyDigest == batch.sentDigest else {
            throw StoreError.idempotencyConflict
        }
    }

    /// The lines a retry of `batch` may still store, when there are any.
    public func linesToReconsider(_ batch: DecodedBatch) -> DroppedLines? {
        guard batch.kind == .signals, let dropped, !dropped.isEmpty else { return nil }
        return dropped
    }

    /// The answer to a retry that stored nothing more.
    public var replay: BatchReceipt {
        var answer = receipt
        answer.storedAt = RFC3339.format(milliseconds: createdAt)
        answer.replayed = true
        if receipt.kind == .signals { answer.acceptedNow = 0 }
        return answer
    }

    /// What the ledger records when a retry stored `storedNow` of the lines the original dropped
    /// and `stillDropped` remain: the batch with its new totals and `accepted_now`. Its
    /// ``BatchReceipt/storedForm``, with the new entry's sequence and hash, is kept for replays.
    public func completion(storedNow: Int, stillDropped: Int) -> BatchReceipt {
        var completed = receipt
        completed.accepted += storedNow
        completed.droppedNoConsent = stillDropped
        completed.acceptedNow = storedNow
        completed.ledgerSequence = nil
        completed.ledgerHash = nil
        return completed
    }
}

extension BatchReceipt {
    /// The receipt as kept for replays: without the fields that only an answer carries.
    public var storedForm: BatchReceipt {
        var stored = self
        stored.storedAt = nil
        stored.replayed = nil
        stored.acceptedNow = nil
        return stored
    }

    /// The answer to the request that stored the batch at `now`.
    public func answeringStored(at now: Int64) -> BatchReceipt {
        var answer = storedForm
        answer.storedAt = RFC3339.format(milliseconds: now)
        answer.replayed = false
        return answer
    }

    /// The answer to a retry of a batch first stored at `createdAt` that stored `storedNow` more.
    public func answeringCompletion(storedNow: Int, firstStoredAt createdAt: Int64) -> BatchReceipt {
        var answer = storedForm
        answer.storedAt = RFC3339.format(milliseconds: createdAt)
        answer.replayed = true
        answer.acceptedNow = storedNow
        return answer
    }
}

