#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Holds a batch's decoded records between reading the body and writing the database.
///
/// A batch is validated in full before anything is written, so that a rejected batch stores
/// nothing, and the body is read before the SQLite writer is taken, so that a slow client
/// never holds the single writer. The records wait here: in memory up to a limit, beyond it
/// in a temporary file that is unlinked as soon as it is created (nothing is left behind by a
/// crash, and no other process can open it). Records are written in frames of whole records,
/// so a reader never sees half of one.
public final class BatchSpool {
    /// Records are handed over in frames of about this many bytes (whole records each).
    public static let frameBytes = 1 << 18

    private let memoryLimit: Int
    private let directory: String
    private var frames: [[UInt8]] = []
    private var memoryBytes = 0
    private var file: SpoolFile?

    /// - Parameters:
    ///   - memoryLimit: bytes kept in memory before spilling to disk.
    ///   - directory: where the temporary file goes (the data directory's `spool/`).
    public init(memoryLimit: Int, directory: String) {
        self.memoryLimit = memoryLimit
        self.directory = directory
    }

    /// Takes one frame of whole encoded records: kept in memory, or written to the temporary
    /// file once the frames outgrow the memory limit (the frames held so far go first).
    public func append(frame: [UInt8]) throws {
        guard !frame.isEmpty else { return }
        if let file {
            try file.appendFrame(frame)
        } else if memoryBytes + frame.count > memoryLimit {
            let file = try SpoolFile(directory: directory)
            for held in frames { try file.appendFrame(held) }
            try file.appendFrame(frame)
            frames.removeAll()
            memoryBytes = 0
            self.file = file
        } else {
            memoryBytes += frame.count
            frames.append(frame)
        }
    }

    /// Ends writing and returns the `count` records for reading.
    public func finish(count: Int) -> SpooledRecords {
        SpooledRecords(frames: frames, file: file, count: count)
    }

    /// Whether the batch spilled to disk (for metrics and tests).
    public var spilled: Bool { file != nil }
}

/// The finished, read-only records of a batch.
///
/// `@unchecked Sendable`: it is immutable once made (frames are values; the file is only read,
/// with `pread`, which is safe from any thread), and it is handed from the request's task to
/// the database writer, which is another thread.
public final class SpooledRecords: @unchecked Sendable {
    private let frames: [[UInt8]]
    private let file: SpoolFile?
    public let count: Int
    /// Whether the records went to a temporary file (the batch outgrew the memory limit).
    public var spilled: Bool { file != nil }

    init(frames: [[UInt8]], file: SpoolFile?, count: Int) {
        self.frames = frames
        self.file = file
        self.count = count
    }

    /// Calls `body` with each frame of whole records, in order.
    public func forEachFrame(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let file {
            var buffer: [UInt8] = []
            var offset: Int64 = 0
            while let next = try file.readFrame(at: offset, into: &buffer) {
                try buffer.withUnsafeBytes(body)
                offset = next
            }
        } else {
            for frame in frames { try frame.withUnsafeBytes(body) }
        }
    }
}

/// An unlinked temporary file of length-prefixed frames.
public final class SpoolFile {
    /// The spool could not be written or read (disk full, permissions).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let operation: String
        public let code: Int32
        public var description: String { "spool \(operation) failed: \(String(cString: strerror(code)))" }
    }

    private let descriptor: Int32
    private var size: Int64 = 0

    init(directory: String) throws {
        var template = Array("\(directory)/batch-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Failure(operation: "create", code: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    func appendFrame(_ frame: [UInt8]) throws {
        var length = UInt32(frame.count).littleEndian
        try withUnsafeBytes(of: &length) { (header) in try writeAll(header) }
        try frame.withUnsafeBytes { (payload) in try writeAll(payload) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(size))
            guard result > 0 else {
                if result < 0 && errno == EINTR { continue }
                throw Failure(operation: "write", code: result < 0 ? errno : ENOSPC)
            }
            written += result
            size += Int64(result)
        }
    }

    /// Reads the frame at `offset` into `buffer`; returns the next frame's offset, or `nil` at the end.
    func readFrame(at offset: Int64, into buffer: inout [UInt8]) throws -> Int64? {
        guard offset < size else { return nil }
        var length: UInt32 = 0
        try withUnsafeMutableBytes(of: &length) { (header) in try readAll(header, at: offset) }
        let count = Int(UInt32(littleEndian: length))
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: repeatElement(0, count: count))
        try buffer.withUnsafeMutableBytes { (payload) in try readAll(payload, at: offset + 4) }
        return offset + 4 + Int64(count)
    }

    private func readAll(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let result = pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            guard result > 0 else {
                if result < 0 && errno == EINTR { continue }
                throw Failure(operation: "read", code: result < 0 ? errno : EIO)
            }
            done += result
        }
    }
}
