#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines without holding more than one line in memory.
///
/// Chunks arrive from the network at arbitrary boundaries; a line that spans chunks is
/// carried over in a buffer bounded by `maxLineBytes`, so an endless line costs at most that
/// much memory before it is rejected. `\n` ends a line, a `\r` before it is dropped, and blank
/// lines are skipped (but still counted, so line numbers match what an editor shows).
public struct LineSplitter {
    public let maxLineBytes: Int
    private var carry: [UInt8] = []
    /// The number of the line that will be delivered next (1-based).
    public private(set) var lineNumber = 1

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// A line was longer than the limit; the rest of it is skipped.
    public struct LineTooLong: Error {
        public let line: Int
    }

    /// Feeds a chunk; calls `onLine` for each complete non-blank line with its number.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        onLine: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            // memchr: every byte of every body passes here.
            guard let found = memchr(base + start, Int32(UInt8(ascii: "\n")), chunk.count - start) else {
                try appendCarry(UnsafeRawBufferPointer(rebasing: chunk[start...]))
                return
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<newline])
            if carry.isEmpty {
                guard piece.count <= maxLineBytes + 1 else { throw LineTooLong(line: lineNumber) }
                try deliver(piece, onLine)
            } else {
                try appendCarry(piece)
                try carry.withUnsafeBytes { try deliver($0, onLine) }
                carry.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
    }

    /// Delivers the last line if the body did not end with a newline.
    public mutating func finish(onLine: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        guard !carry.isEmpty else { return }
        try carry.withUnsafeBytes { try deliver($0, onLine) }
        carry.removeAll()
    }

    private mutating func appendCarry(_ bytes: UnsafeRawBufferPointer) throws {
        guard carry.count + bytes.count <= maxLineBytes + 1 else { throw LineTooLong(line: lineNumber) }
        carry.append(contentsOf: bytes)
    }

    private mutating func deliver(
        _ rawLine: UnsafeRawBufferPointer,
        _ onLine: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws {
        var line = rawLine
        if let last = line.last, last == UInt8(ascii: "\r") {
            line = UnsafeRawBufferPointer(rebasing: line.dropLast())
        }
        guard line.count <= maxLineBytes else { throw LineTooLong(line: lineNumber) }
        let number = lineNumber
        lineNumber += 1
        if line.isEmpty || (isBlank(line[0]) && line.allSatisfy(isBlank)) { return }
        try onLine(line, number)
    }

    private func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
