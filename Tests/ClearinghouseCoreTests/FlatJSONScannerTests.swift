import Testing

@testable import ClearinghouseCore

@Suite("Flat JSON scanner")
struct FlatJSONScannerTests {
    /// Scans `line` and renders its members as "key=kind:value" for comparison.
    func members(_ line: String) throws(LineProblem) -> [String] {
        var out: [String] = []
        try withBytes(of: Array(line.utf8)) { (bytes) throws(LineProblem) in
            try FlatJSONScanner.scan(bytes) { key, value in
                let name = String(decoding: key, as: UTF8.self)
                switch value {
                case .text(let raw): out.append("\(name)=s:\(String(decoding: raw, as: UTF8.self))")
                case .decodedText(let bytes): out.append("\(name)=s:\(String(decoding: bytes, as: UTF8.self))")
                case .number(let raw): out.append("\(name)=n:\(String(decoding: raw, as: UTF8.self))")
                case .textList(let items): out.append("\(name)=a:\(items.map { String(decoding: $0, as: UTF8.self) })")
                case .null: out.append("\(name)=null")
                case .boolean(let flag): out.append("\(name)=b:\(flag)")
                }
            }
        }
        return out
    }

    @Test("reads every value shape of the schema")
    func shapes() throws {
        let found = try members(#" { "a" : "x" , "b":-1.5e3,"c":["p","q"],"d":null,"e":true, "f":[] } "#)
        #expect(found == ["a=s:x", "b=n:-1.5e3", "c=a:[\"p\", \"q\"]", "d=null", "e=b:true", "f=a:[]"])
        #expect(try members("{}").isEmpty)
    }

    @Test("decodes escapes, including surrogate pairs")
    func escapes() throws {
        let found = try members(#"{"p":"a\"b\\c\/d\n\u00e9\ud83d\ude00","k\u0069d":"z"}"#)
        #expect(found == ["p=s:a\"b\\c/d\né😀", "kid=s:z"])
    }

    @Test(
        "rejects what is not a flat JSON object",
        arguments: [
            "", "[1]", "{", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":{"b":1}}"#, #"{"a":"x}"#, "{\"a\":\"\u{01}\"}",
            #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":1e}"#, #"{"a":tru}"#, #"{"a":1} x"#, #"{"a":[1]}"#,
            #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":"\u12"}"#, #"{a:1}"#, #"{"a":NaN}"#,
        ])
    func rejects(line: String) {
        #expect(throws: LineProblem.self) { try members(line) }
    }
}
