import Testing

@testable import ClearinghouseCore

@Suite("CSV line reader")
struct CSVLineReaderTests {
    func reader(header: String, kind: BatchKind = .signals) throws(LineProblem) -> CSVLineReader {
        var reader = CSVLineReader()
        try withBytes(of: Array(header.utf8)) { (bytes) throws(LineProblem) in
            try reader.readHeader(bytes, allowed: kind.allowedFields)
        }
        return reader
    }

    func cells(_ reader: CSVLineReader, _ line: String) throws(LineProblem) -> [String] {
        var out: [String] = []
        try withBytes(of: Array(line.utf8)) { (bytes) throws(LineProblem) in
            try reader.readRecord(bytes) { field, value in
                switch value {
                case .text(let raw): out.append("\(field.name)=\(String(decoding: raw, as: UTF8.self))")
                case .decodedText(let raw): out.append("\(field.name)=\(String(decoding: raw, as: UTF8.self))")
                case .number(let raw): out.append("\(field.name)=#\(String(decoding: raw, as: UTF8.self))")
                case .textList(let items): out.append("\(field.name)=\(items.map { String(decoding: $0, as: UTF8.self) })")
                case .null: out.append("\(field.name)=null")
                case .boolean: out.append("?")
                }
            }
        }
        return out
    }

    @Test("maps columns in header order, quoted cells and empty cells")
    func readsCells() throws {
        let csv = try reader(header: "category, token ,weight,kid,observed_at")
        #expect(try cells(csv, #""a,""b""",t,2.5,,x"#) == ["category=a,\"b\"", "token=t", "weight=#2.5", "kid=null", "observed_at=x"])
        let consents = try reader(header: "token,kid,purposes,granted_at,proof", kind: .consents)
        #expect(try cells(consents, "t,k,affinity;other,g,") == ["token=t", "kid=k", "purposes=[\"affinity\", \"other\"]", "granted_at=g", "proof=null"])
    }

    @Test("rejects bad headers: unknown, duplicate, wrong kind")
    func badHeaders() {
        #expect(throws: LineProblem.self) { try reader(header: "token,kid,colour") }
        #expect(throws: LineProblem.self) { try reader(header: "token,kid,token") }
        #expect(throws: LineProblem.self) { try reader(header: "token,kid,purposes", kind: .signals) }
    }

    @Test("rejects lines whose cells do not fit the header")
    func badLines() throws {
        let csv = try reader(header: "token,kid")
        #expect(throws: LineProblem.self) { try cells(csv, "a,b,c") }
        #expect(throws: LineProblem.self) { try cells(csv, "a") }
        #expect(throws: LineProblem.self) { try cells(csv, #""a,b"#) }
        #expect(throws: LineProblem.self) { try cells(csv, #"a"b,c"#) }
        #expect(throws: LineProblem.self) { try cells(csv, #""a"x,c"#) }
    }
}
