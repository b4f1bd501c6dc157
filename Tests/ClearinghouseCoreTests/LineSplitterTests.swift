import Testing

@testable import ClearinghouseCore

@Suite("Line splitter")
struct LineSplitterTests {
    func split(_ text: String, chunk: Int, maxLine: Int = 100) throws -> [String] {
        var splitter = LineSplitter(maxLineBytes: maxLine)
        var lines: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            try Array(bytes[start..<end]).withUnsafeBytes { buffer in
                try splitter.feed(buffer) { line, number in lines.append("\(number):\(String(decoding: line, as: UTF8.self))") }
            }
            start = end
        }
        try splitter.finish { line, number in lines.append("\(number):\(String(decoding: line, as: UTF8.self))") }
        return lines
    }

    @Test("yields the same lines whatever the chunk boundaries")
    func chunkBoundaries() throws {
        let text = "alpha\r\nbeta\n\n  \ngamma delta\nlast"
        let expected = ["1:alpha", "2:beta", "5:gamma delta", "6:last"]
        for chunk in 1...text.utf8.count {
            #expect(try split(text, chunk: chunk) == expected)
        }
    }

    @Test("rejects a line over the limit, in one chunk or across chunks")
    func tooLong() {
        let text = "ok\n" + String(repeating: "x", count: 50) + "\nok"
        for chunk in [1, 7, 100] {
            #expect(throws: LineSplitter.LineTooLong.self) { try split(text, chunk: chunk, maxLine: 40) }
        }
        #expect((try? split(text, chunk: 3, maxLine: 50)) != nil)
    }
}
