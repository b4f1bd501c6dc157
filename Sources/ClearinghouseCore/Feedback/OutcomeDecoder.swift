import Crypto

/// Reads a `POST /v1/outcomes` body (NDJSON or CSV, optionally gzip) into ``OutcomeLine``s,
/// checking each line on its own: fields, integers, counts, the period.
///
/// What needs the store or a release (is the release known, was the suggestion on offer) is
/// checked after, by ``OutcomeValidator``. Outcome batches are small (a line per suggestion
/// and period), so the lines are kept in memory, within the same body and line limits as every
/// batch.
public final class OutcomeDecoder {
    public typealias Rejection = BatchDecoder.Rejection

    /// The fields of an outcome line; all required.
    public static let fields = ["release", "kind", "item", "suggested", "invited", "accepted", "period_start", "period_end"]

    let format: BodyFormat
    let limits: IngestLimits
    let maxPeriodDays: Int
    let now: Int64
    private let body: BatchBodyReader
    private var columns: [String]?
    private var sawFirstLine = false
    private var errors: [LineError] = []
    private var lineNumbers: [Int] = []
    public private(set) var lines: [OutcomeLine] = []
    public var rawBytes: Int { body.rawBytes }
    private var recordCount = 0

    public init(format: BodyFormat, gzip: Bool, limits: IngestLimits, maxPeriodDays: Int, now: Int64) {
        self.format = format
        self.limits = limits
        self.maxPeriodDays = maxPeriodDays
        self.now = now
        body = BatchBodyReader(gzip: gzip, limits: limits)
    }

    /// Feeds the next chunk of the raw (possibly gzip) body.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(Rejection) {
        try body.feed(chunk) { line, number in try self.handle(line: line, number: number) }
        if !errors.isEmpty && errors.count >= limits.maxErrorsReported { throw .invalidLines(errors) }
    }

    /// Ends the body. The lines valid on their own come back with the problems of the others
    /// (``DecodedOutcomes/problems``), so that the checks against releases can name every bad
    /// line of the batch at once; only a body that is not a batch at all is thrown.
    public func finish() throws(Rejection) -> DecodedOutcomes {
        try body.finish { line, number in try self.handle(line: line, number: number) }
        if format == .csv && columns == nil && rawBytes > 0 {
            errors.append(
                LineError(
                    line: 1, field: nil, problem: "the CSV body has no header row",
                    fix: "start with the header \(Self.fields.joined(separator: ","))"))
        }
        var seen: [OutcomeKey: Int] = [:]
        for (line, number) in zip(lines, lineNumbers) {
            if let first = seen[line.key] {
                errors.append(
                    LineError(
                        line: number, field: "suggested",
                        problem: "line \(first) already reports this suggestion of this item for the same period",
                        fix: "send one line per item, suggestion and period (a later batch corrects an earlier one)"))
            } else {
                seen[line.key] = number
            }
        }
        errors.sort { $0.line < $1.line }
        guard !lines.isEmpty || !errors.isEmpty else { throw .empty }
        let digests = body.digests()
        return DecodedOutcomes(
            lines: lines, lineNumbers: lineNumbers, problems: errors, bodyDigest: digests.content, sentDigest: digests.sent)
    }

    private func handle(line rawLine: UnsafeRawBufferPointer, number: Int) throws {
        var line = rawLine
        if !sawFirstLine {
            sawFirstLine = true
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = UnsafeRawBufferPointer(rebasing: line.dropFirst(3)) }
            if format == .csv {
                do {
                    columns = try Self.header(line)
                } catch {
                    errors.append(error.at(line: number))
                    throw Rejection.invalidLines(errors)
                }
                return
            }
        }
        recordCount += 1
        guard recordCount <= limits.maxLinesPerBatch else { throw Rejection.tooManyLines(limit: limits.maxLinesPerBatch) }
        do throws(LineProblem) {
            var builder = OutcomeLineBuilder(maxPeriodDays: maxPeriodDays, now: now, futureTolerance: limits.futureToleranceMilliseconds)
            switch format {
            case .ndjson:
                try FlatJSONScanner.scan(line) { (key, value) throws(LineProblem) in
                    try builder.take(String(decoding: key, as: UTF8.self), value)
                }
            case .csv:
                var column = 0
                let names = columns ?? []
                try CSVLineReader.splitCells(line) { (cell: CSVLineReader.CSVCell) throws(LineProblem) in
                    guard column < names.count else {
                        throw LineProblem(
                            field: nil, problem: "the line has more cells than the header has columns (\(names.count))",
                            fix: "quote cells that contain commas, and give every line the header's columns")
                    }
                    let name = names[column]
                    column += 1
                    try cell.bytes.withView { (raw) throws(LineProblem) in
                        try builder.take(name, raw.isEmpty ? .null : .text(raw), fromCSV: true)
                    }
                }
                guard column == names.count else {
                    throw LineProblem(
                        field: nil, problem: "the line has \(column) cells, the header has \(names.count) columns",
                        fix: "give every line the header's columns")
                }
            }
            lines.append(try builder.complete())
            lineNumbers.append(number)
        } catch {
            errors.append(error.at(line: number))
            if errors.count >= limits.maxErrorsReported { throw Rejection.invalidLines(errors) }
        }
    }

    private static func header(_ line: UnsafeRawBufferPointer) throws(LineProblem) -> [String] {
        var names: [String] = []
        try CSVLineReader.splitCells(line) { (cell: CSVLineReader.CSVCell) throws(LineProblem) in
            let name = cell.bytes.withView { String(decoding: $0, as: UTF8.self).trimmingSpaces() }
            guard fields.contains(name) else {
                let shown = Array(name.utf8).withUnsafeBytes { LineField.describeUnknown($0) }
                throw LineProblem(
                    field: nil, problem: "unknown column \(shown) in the CSV header",
                    fix: "name the columns \(fields.joined(separator: ","))")
            }
            guard !names.contains(name) else {
                throw LineProblem(field: name, problem: "the CSV header names column '\(name)' twice", fix: "keep one column per field")
            }
            names.append(name)
        }
        if let missing = fields.first(where: { !names.contains($0) }) {
            throw LineProblem(field: missing, problem: "the CSV header has no column '\(missing)'", fix: "name the columns \(fields.joined(separator: ","))")
        }
        return names
    }
}

/// A body of outcome lines, each valid on its own, with the digests idempotency compares.
public struct DecodedOutcomes: Sendable {
    public var lines: [OutcomeLine]
    /// The body line each came from, for errors found later.
    public var lineNumbers: [Int]
    /// The lines that are wrong on their own (not in `lines`), in line order.
    public var problems: [LineError]
    /// SHA-256 of the (inflated) content, and of the bytes sent.
    public var bodyDigest: [UInt8]
    public var sentDigest: [UInt8]

    public init(lines: [OutcomeLine], lineNumbers: [Int], problems: [LineError] = [], bodyDigest: [UInt8], sentDigest: [UInt8]) {
        self.lines = lines
        self.lineNumbers = lineNumbers
        self.problems = problems
        self.bodyDigest = bodyDigest
        self.sentDigest = sentDigest
    }
}
