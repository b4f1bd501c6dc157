import Crypto

/// Decodes one write body, chunk by chunk as it arrives, into a validated ``DecodedBatch``.
///
/// The pipeline per chunk: count and digest the raw bytes (size limit, idempotency), inflate
/// if gzip (decoded-size limit), split lines (line-length limit), parse each line as NDJSON or
/// CSV against the batch kind's schema, turn the token into a person key, and spool the
/// record. Errors are collected with line numbers up to ``IngestLimits/maxErrorsReported``;
/// then decoding stops. Nothing here touches the database: a batch that fails here stores
/// nothing by construction.
///
/// Not `Sendable`: one decoder belongs to one request's task.
public final class BatchDecoder {
    /// Why a batch is refused before anything is stored.
    public enum Rejection: Error, Sendable, Equatable {
        /// One or more lines are invalid; the first errors, in line order.
        case invalidLines([LineError])
        case bodyTooLarge(limit: Int)
        case decodedBodyTooLarge(limit: Int)
        case tooManyLines(limit: Int)
        case badGzip(String)
        case empty
        /// The spool could not be written (disk full): the daemon's fault, not the client's.
        case spoolFailed(String)
    }

    public let kind: BatchKind
    public let format: BodyFormat
    private let limits: IngestLimits
    private var builder: LineRecordBuilder
    private let body: BatchBodyReader
    private var csv = CSVLineReader()
    private let spool: BatchSpool
    private var errors: [LineError] = []
    public var rawBytes: Int { body.rawBytes }
    public private(set) var recordCount = 0
    private var sawFirstLine = false

    public init(
        kind: BatchKind,
        format: BodyFormat,
        gzip: Bool,
        limits: IngestLimits,
        deriver: PersonKeyDeriver,
        now: Int64,
        spoolDirectory: String
    ) {
        self.kind = kind
        self.format = format
        self.limits = limits
        self.builder = LineRecordBuilder(kind: kind, deriver: deriver, now: now, limits: limits)
        self.body = BatchBodyReader(gzip: gzip, limits: limits)
        self.spool = BatchSpool(memoryLimit: limits.spoolMemoryBytes, directory: spoolDirectory)
    }

    /// Feeds the next chunk of the raw (possibly gzip) body.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(Rejection) {
        try body.feed(chunk) { line, number in try self.handle(line: line, number: number) }
        if !errors.isEmpty && errors.count >= limits.maxErrorsReported { throw .invalidLines(errors) }
    }

    /// Ends the body: checks it was whole and valid, and returns the batch.
    public func finish() throws(Rejection) -> DecodedBatch {
        try body.finish { line, number in try self.handle(line: line, number: number) }
        guard errors.isEmpty else { throw .invalidLines(errors) }
        if format == .csv && !csv.hasHeader && rawBytes > 0 {
            throw .invalidLines([
                LineError(
                    line: 1, field: nil, problem: "the CSV body has no header row",
                    fix: "start with a header naming the columns, such as token,kid,category,weight,observed_at")
            ])
        }
        guard recordCount > 0 else { throw .empty }
        let records: SpooledRecords
        do {
            records = try spool.finish()
        } catch {
            throw Self.rejection(for: error)
        }
        let digests = body.digests()
        return DecodedBatch(
            kind: kind, received: recordCount, categories: builder.categoryNames,
            bodyDigest: digests.content, sentDigest: digests.sent, records: records)
    }

    private func handle(line rawLine: UnsafeRawBufferPointer, number: Int) throws {
        var line = rawLine
        if !sawFirstLine {
            sawFirstLine = true
            // A UTF-8 byte order mark, as spreadsheet exports write it.
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = UnsafeRawBufferPointer(rebasing: line.dropFirst(3)) }
            if format == .csv {
                do {
                    try csv.readHeader(line, allowed: kind.allowedFields)
                } catch {
                    errors.append(error.at(line: number))
                    throw Rejection.invalidLines(errors)
                }
                return
            }
        }
        recordCount += 1
        guard recordCount <= limits.maxLinesPerBatch else { throw Rejection.tooManyLines(limit: limits.maxLinesPerBatch) }
        do {
            try decodeRecord(line)
        } catch let problem as LineProblem {
            errors.append(problem.at(line: number))
            if errors.count >= limits.maxErrorsReported { throw Rejection.invalidLines(errors) }
        }
    }

    private func decodeRecord(_ line: UnsafeRawBufferPointer) throws {
        builder.begin()
        switch format {
        case .ndjson:
            try FlatJSONScanner.scan(line) { (key, value) throws(LineProblem) in
                guard let field = LineField.named(key) else {
                    throw LineProblem(
                        field: nil, problem: "unknown field \(LineField.describeUnknown(key))",
                        fix: "a \(kind.lineNoun) line has \(kind.allowedFields.map(\.name).sorted().joined(separator: ", "))")
                }
                try builder.take(field, value)
            }
        case .csv:
            try csv.readRecord(line) { (field, value) throws(LineProblem) in try builder.take(field, value) }
        }
        // Validate first, then append: a failing line adds nothing to the spool.
        var problem: LineProblem?
        try spool.append { out in
            let mark = out.count
            do throws(LineProblem) {
                try builder.complete(into: &out)
            } catch {
                out.removeSubrange(mark...)
                problem = error
            }
        }
        if let problem { throw problem }
    }

    static func rejection(for error: any Error) -> Rejection {
        switch error {
        case let rejection as Rejection: return rejection
        case let tooLong as LineSplitter.LineTooLong:
            return .invalidLines([
                LineError(
                    line: tooLong.line, field: nil, problem: "the line is longer than the limit",
                    fix: "check the line endings (one record per line); the limit is ingest.max_line_bytes")
            ])
        case let gzip as GzipInflater.Failure:
            switch gzip {
            case .corrupt(let message): return .badGzip("the gzip body is corrupt (\(message))")
            case .truncated: return .badGzip("the gzip body is truncated")
            case .outputTooLarge(let limit): return .decodedBodyTooLarge(limit: limit)
            }
        case let spool as SpoolFile.Failure: return .spoolFailed(spool.description)
        default: return .spoolFailed(String(describing: error))
        }
    }
}
