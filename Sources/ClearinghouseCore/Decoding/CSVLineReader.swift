/// Reads CSV bodies (RFC 4180, header row first) into the same fields as NDJSON.
///
/// Partners' CRM exports are often CSV. The header names the fields (`token,kid,category,...`,
/// in any order); each later line is split into cells, with double-quoted cells allowed to hold
/// commas and `""` for a quote. A quoted cell cannot span lines: one record is one line, as
/// in NDJSON, so line numbers in errors point at the record. Empty cells are `null` (an
/// optional field left out); `purposes` lists purposes separated by `;`.
public struct CSVLineReader {
    /// The field of each column, fixed by the header.
    public private(set) var columns: [LineField] = []

    public init() {}

    public var hasHeader: Bool { !columns.isEmpty }

    /// Reads the header line. `allowed` are the fields of this batch kind.
    public mutating func readHeader(_ line: UnsafeRawBufferPointer, allowed: Set<LineField>) throws(LineProblem) {
        var fields: [LineField] = []
        try Self.splitCells(line) { (cell: CSVCell) throws(LineProblem) in
            let name = cell.bytes.withView { raw in
                String(decoding: raw, as: UTF8.self).trimmingSpaces()
            }
            let field = Array(name.utf8).withUnsafeBytes { LineField.named($0) }
            guard let field, allowed.contains(field) else {
                let shown = Array(name.utf8).withUnsafeBytes { LineField.describeUnknown($0) }
                throw LineProblem(
                    field: nil, problem: "unknown column \(shown) in the CSV header",
                    fix: "name the columns \(allowed.map(\.name).sorted().joined(separator: ", "))")
            }
            guard !fields.contains(field) else {
                throw LineProblem(
                    field: field.name, problem: "the CSV header names column '\(field.name)' twice",
                    fix: "keep one column per field")
            }
            fields.append(field)
        }
        columns = fields
    }

    /// Reads a data line, passing each cell as a ``LineValue`` shaped like its JSON counterpart.
    public func readRecord(
        _ line: UnsafeRawBufferPointer,
        onField: (LineField, LineValue) throws(LineProblem) -> Void
    ) throws(LineProblem) {
        var column = 0
        try Self.splitCells(line) { (cell: CSVCell) throws(LineProblem) in
            guard column < columns.count else {
                throw LineProblem(
                    field: nil, problem: "the line has more cells than the header has columns (\(columns.count))",
                    fix: "quote cells that contain commas, and give every line the header's columns")
            }
            let field = columns[column]
            column += 1
            try cell.bytes.withView { (raw) throws(LineProblem) in
                try onField(field, Self.value(of: raw, shape: field.shape))
            }
        }
        guard column == columns.count else {
            throw LineProblem(
                field: nil, problem: "the line has \(column) cells, the header has \(columns.count) columns",
                fix: "give every line the header's columns (leave optional cells empty)")
        }
    }

    private static func value(of raw: UnsafeRawBufferPointer, shape: LineField.ValueShape) -> LineValue {
        guard !raw.isEmpty else { return .null }
        switch shape {
        case .text:
            return .text(raw)
        case .number:
            return .number(raw)
        case .textList:
            return .textList(raw.split(separator: UInt8(ascii: ";")).map { Array($0) })
        }
    }

    /// A cell: a view of the line's bytes, or decoded bytes when it held `""`.
    struct CSVCell {
        enum Bytes {
            case raw(UnsafeRawBufferPointer)
            case decoded([UInt8])

            func withView<Output, Failure: Error>(
                _ body: (UnsafeRawBufferPointer) throws(Failure) -> Output
            ) throws(Failure) -> Output {
                switch self {
                case .raw(let raw): return try body(raw)
                case .decoded(let decoded): return try withBytes(of: decoded, body)
                }
            }
        }
        let bytes: Bytes
    }

    static func splitCells(
        _ line: UnsafeRawBufferPointer,
        onCell: (CSVCell) throws(LineProblem) -> Void
    ) throws(LineProblem) {
        var index = 0
        while true {
            if index < line.count, line[index] == UInt8(ascii: "\"") {
                index += 1
                var decoded: [UInt8] = []
                var closed = false
                while index < line.count {
                    let byte = line[index]
                    if byte == UInt8(ascii: "\"") {
                        if index + 1 < line.count, line[index + 1] == UInt8(ascii: "\"") {
                            decoded.append(UInt8(ascii: "\""))
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    decoded.append(byte)
                    index += 1
                }
                guard closed else {
                    throw LineProblem(
                        field: nil, problem: "a quoted cell is not closed on its line",
                        fix: "close every quote on the same line; a record cannot span lines")
                }
                try onCell(CSVCell(bytes: .decoded(decoded)))
                guard index < line.count else { return }
                guard line[index] == UInt8(ascii: ",") else {
                    throw LineProblem(
                        field: nil, problem: "text follows a closing quote", fix: "write a quote inside a quoted cell as \"\"")
                }
                index += 1
            } else {
                let start = index
                while index < line.count, line[index] != UInt8(ascii: ",") {
                    guard line[index] != UInt8(ascii: "\"") else {
                        throw LineProblem(
                            field: nil, problem: "a quote inside an unquoted cell",
                            fix: "quote the whole cell and write the quote as \"\"")
                    }
                    index += 1
                }
                try onCell(CSVCell(bytes: .raw(UnsafeRawBufferPointer(rebasing: line[start..<index]))))
                guard index < line.count else { return }
                index += 1
            }
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
