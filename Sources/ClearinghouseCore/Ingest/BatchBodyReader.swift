import Crypto

/// A batch body as it arrives, the same for every batch endpoint: counted against
/// `ingest.max_body_bytes`, inflated when gzip (within `ingest.max_decoded_bytes`), split into
/// lines, and digested twice for idempotency. ``BatchDecoder`` and ``OutcomeDecoder`` read their
/// lines through it, so the limits and the digests cannot drift apart between them.
final class BatchBodyReader {
    let limits: IngestLimits
    private var splitter: LineSplitter
    private let inflater: GzipInflater?
    /// Of the body's content (inflated when gzip): the same lines compressed by another gzip
    /// are the same request, so a partner's retry never depends on its compressor's bytes.
    private var contentDigest = SHA256()
    /// Of the bytes as sent, which earlier versions keyed batches by.
    private var sentDigest = SHA256()
    private(set) var rawBytes = 0

    init(gzip: Bool, limits: IngestLimits) {
        self.limits = limits
        splitter = LineSplitter(maxLineBytes: limits.maxLineBytes)
        inflater = gzip ? GzipInflater(maxOutputBytes: limits.maxDecodedBytes) : nil
    }

    /// Feeds the next chunk of the raw (possibly gzip) body, handing each complete line to
    /// `onLine` with its number; what `onLine` throws comes out as a rejection.
    func feed(_ chunk: UnsafeRawBufferPointer, onLine: (UnsafeRawBufferPointer, Int) throws -> Void) throws(BatchDecoder.Rejection) {
        rawBytes += chunk.count
        guard rawBytes <= limits.maxBodyBytes else { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
        // Without gzip the bytes sent are the content: one digest serves both.
        if inflater != nil { sentDigest.update(bufferPointer: chunk) }
        do {
            if let inflater {
                try inflater.inflate(chunk) { try consume($0, onLine) }
            } else {
                try consume(chunk, onLine)
            }
        } catch {
            throw BatchDecoder.rejection(for: error)
        }
    }

    /// Ends the body: checks the gzip stream was whole and hands over the last line.
    func finish(onLine: (UnsafeRawBufferPointer, Int) throws -> Void) throws(BatchDecoder.Rejection) {
        do {
            try inflater?.finish()
            try splitter.finish(onLine: onLine)
        } catch {
            throw BatchDecoder.rejection(for: error)
        }
    }

    /// SHA-256 of the content and of the bytes sent (the same without gzip); once, at the end.
    func digests() -> (content: [UInt8], sent: [UInt8]) {
        let content = Array(contentDigest.finalize())
        return (content, inflater == nil ? content : Array(sentDigest.finalize()))
    }

    private func consume(_ decoded: UnsafeRawBufferPointer, _ onLine: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        contentDigest.update(bufferPointer: decoded)
        try splitter.feed(decoded, onLine: onLine)
    }
}
