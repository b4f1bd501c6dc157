/// What decoding one batch body changes line by line: the record builder, the CSV header, the
/// errors so far, the line count and the frame of records being filled.
///
/// One value, so that ``BatchDecoder`` (a class, one per request) decodes a whole chunk inside a
/// single exclusive access to it; the same state in the class's own properties cost several
/// runtime exclusivity checks a line. Full frames go to the ``BatchSpool``.
struct LineDecoding {
    typealias Rejection = BatchDecoder.Rejection

    let kind: BatchKind
    let format: BodyFormat
    private let limits: IngestLimits
    private var builder: LineRecordBuilder
    private var csv = CSVLineReader()
    private let spool: BatchSpool
    /// The records since the last full frame.
    private var frame: [UInt8] = []
    private var errors: [LineError] = []
    private(set) var recordCount = 0
    private var sawFirstLine = false

    init(kind: BatchKind, format: BodyFormat, limits: IngestLimits, builder: LineRecordBuilder, spool: BatchSpool) {
        self.kind = kind
        self.format = format
        self.limits = limits
        self.builder = builder
        self.spool = spool
        frame.reserveCapacity(min(BatchSpool.frameBytes + 4096, max(limits.spoolMemoryBytes, 4096)))
    }

    /// Decodes the lines completed by `chunk` (raw body bytes, read through `body`).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, through body: BatchBodyReader) throws(Rejection) {
        try body.feed(chunk) { line, number in try self.handle(line: line, number: number) }
        if !errors.isEmpty && errors.count >= limits.maxErrorsReported { throw .invalidLines(errors) }
    }

    /// Ends the body: checks it was whole and valid, and returns the batch.
    mutating func finish(through body: BatchBodyReader) throws(Rejection) -> DecodedBatch {
        try body.finish { line, number in try self.handle(line: line, number: number) }
        guard errors.isEmpty else { throw .invalidLines(errors) }
        if format == .csv && !csv.hasHeader && body.rawBytes > 0 {
            throw .invalidLines([
                LineError(
                    line: 1, field: nil, problem: "the CSV body has no header row",
                    fix: "start with a header naming the columns, such as token,kid,category,weight,observed_at")
            ])
        }
        guard recordCount > 0 else { throw .empty }
        do {
            try spool.append(frame: frame)
        } catch {
            throw BatchDecoder.rejection(for: error)
        }
        frame = []
        let digests = body.digests()
        return DecodedBatch(
            kind: kind, received: recordCount, categories: builder.categoryNames,
            bodyDigest: digests.content, sentDigest: digests.sent, records: spool.finish(count: recordCount))
    }

    private mutating func handle(line rawLine: UnsafeRawBufferPointer, number: Int) throws {
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

    private mutating func decodeRecord(_ line: UnsafeRawBufferPointer) throws {
        builder.begin()
        switch format {
        case .ndjson:
            let kind = self.kind
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
        // Validate first, then append: a failing line adds nothing to the frame.
        let mark = frame.count
        do throws(LineProblem) {
            try builder.complete(into: &frame)
        } catch {
            frame.removeSubrange(mark...)
            throw error
        }
        if frame.count >= BatchSpool.frameBytes {
            try spool.append(frame: frame)
            frame.removeAll(keepingCapacity: true)
        }
    }
}
