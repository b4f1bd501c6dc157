/// Which signals of a batch were dropped for missing consent, by their position in the batch
/// (0-based, in the order ``DecodedBatch/forEachSignal(_:)`` reads them), as a bitmap.
///
/// It is kept with the batch's idempotency record so that a retry of the same batch (same key,
/// same body) after the partner uploaded the missing consents stores exactly the lines that were
/// dropped and are covered now, and never a line twice: a partner can correct a consent file and
/// run the same upload again without double counting the signals that were stored the first time.
/// It holds positions only; without the body, which the daemon does not keep, it names no one.
public struct DroppedLines: Sendable, Equatable {
    public private(set) var bytes: [UInt8]

    /// Room for `lineCount` positions, none set.
    public init(lineCount: Int) {
        bytes = [UInt8](repeating: 0, count: (max(lineCount, 0) + 7) / 8)
    }

    /// A bitmap as stored (`batch.dropped_lines`).
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public mutating func insert(_ line: Int) {
        precondition(line >= 0 && line / 8 < bytes.count, "line \(line) outside the batch")
        bytes[line / 8] |= 1 << UInt8(line % 8)
    }

    public mutating func remove(_ line: Int) {
        guard line >= 0, line / 8 < bytes.count else { return }
        bytes[line / 8] &= ~(1 << UInt8(line % 8))
    }

    /// False for positions outside the bitmap, so a shorter stored bitmap never matches more.
    public func contains(_ line: Int) -> Bool {
        guard line >= 0, line / 8 < bytes.count else { return false }
        return bytes[line / 8] & (1 << UInt8(line % 8)) != 0
    }

    public var count: Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }

    public var isEmpty: Bool { bytes.allSatisfy { $0 == 0 } }

    /// What the batch row stores: nothing when no line is left to store.
    public var storedBytes: [UInt8]? { isEmpty ? nil : bytes }

    /// What a new batch row keeps: only a batch sent with an Idempotency-Key can be retried, so
    /// only such a batch keeps its dropped lines.
    public static func kept(_ dropped: DroppedLines?, idempotencyKey: String?) -> [UInt8]? {
        idempotencyKey == nil ? nil : dropped?.storedBytes
    }
}
