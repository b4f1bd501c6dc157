import CZlib

/// Streaming gzip decompression (RFC 1952) with a hard cap on the output.
///
/// Request bodies with `Content-Encoding: gzip` are inflated chunk by chunk into a fixed
/// window, so memory stays bounded whatever the compression ratio; the running total of
/// inflated bytes is checked against `maxOutputBytes` after every window, which stops a gzip
/// bomb after at most one window past the limit. Concatenated gzip members (as `cat a.gz b.gz`
/// makes) are accepted, as gzip(1) does.
///
/// Not `Sendable`: one inflater belongs to one request's task.
public final class GzipInflater {
    /// Why the gzip stream could not be inflated.
    public enum Failure: Error, Equatable, Sendable {
        case corrupt(String)
        case truncated
        case outputTooLarge(limit: Int)
    }

    public let maxOutputBytes: Int
    public private(set) var outputBytes = 0
    private var stream = z_stream()
    private var window: [UInt8]
    private var atMemberEnd = false
    private var sawInput = false

    public init(maxOutputBytes: Int, windowBytes: Int = 64 * 1024) {
        self.maxOutputBytes = maxOutputBytes
        self.window = [UInt8](repeating: 0, count: windowBytes)
        // 15 window bits + 16: expect a gzip header and trailer, not zlib or raw deflate.
        let status = inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib inflateInit2 failed: \(status)")
    }

    deinit {
        inflateEnd(&stream)
    }

    /// Inflates `input`, passing each filled window to `output`. Returns once all of `input` is
    /// consumed and zlib holds no pending output.
    public func inflate(_ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count > 0 else { return }
        sawInput = true
        var consumed = 0
        while true {
            if atMemberEnd {
                guard consumed < input.count else { return }
                // Another gzip member follows the previous one.
                inflateReset(&stream)
                atMemberEnd = false
            }
            var status: Int32 = Z_OK
            var produced = 0
            var used = 0
            let remaining = input.count - consumed
            window.withUnsafeMutableBytes { windowBuffer in
                stream.next_in = remaining == 0
                    ? nil
                    : UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(remaining)
                stream.next_out = windowBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(windowBuffer.count)
                status = CZlib.inflate(&stream, Z_NO_FLUSH)
                used = remaining - Int(stream.avail_in)
                produced = windowBuffer.count - Int(stream.avail_out)
            }
            consumed += used
            // Output zlib produced before it hit an error goes out first: then the first failure
            // in stream order wins (a bad line before a bad checksum), however the body was
            // chunked. The fuzzer found the answer depending on the chunking before.
            if produced > 0 {
                outputBytes += produced
                guard outputBytes <= maxOutputBytes else { throw Failure.outputTooLarge(limit: maxOutputBytes) }
                try window.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
            }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                atMemberEnd = true
            case Z_DATA_ERROR:
                let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw Failure.corrupt(message)
            default:
                throw Failure.corrupt("zlib status \(status)")
            }
            if atMemberEnd { continue }
            if consumed >= input.count && produced < window.count { return }
            if used == 0 && produced == 0 {
                if remaining == 0 { return }
                throw Failure.corrupt("the stream stalled")
            }
        }
    }

    /// Checks that the stream ended at the end of a gzip member (not midway through one).
    public func finish() throws {
        guard sawInput else { throw Failure.truncated }
        guard atMemberEnd else { throw Failure.truncated }
    }
}
