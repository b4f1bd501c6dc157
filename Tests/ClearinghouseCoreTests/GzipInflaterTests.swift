import Testing

@testable import ClearinghouseCore

@Suite("Gzip inflater")
struct GzipInflaterTests {
    func inflate(_ compressed: [UInt8], chunk: Int, limit: Int = 1 << 30) throws -> [UInt8] {
        let inflater = GzipInflater(maxOutputBytes: limit, windowBytes: 1024)
        var out: [UInt8] = []
        var start = 0
        while start < compressed.count {
            let end = min(start + chunk, compressed.count)
            try Array(compressed[start..<end]).withUnsafeBytes { try inflater.inflate($0) { out.append(contentsOf: $0) } }
            start = end
        }
        try inflater.finish()
        return out
    }

    @Test("inflates gzip(1) output exactly, whatever the chunking")
    func roundTrip() async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        print("GzipInflaterTests.roundTrip seed \(seed)")
        var generator = SeededGenerator(seed: seed)
        let text = (0..<20_000).map { _ in UInt8.random(in: 97...102, using: &generator) }
        let compressed = try await gzip(text)
        for chunk in [1, 13, 1000, compressed.count] {
            #expect(try inflate(compressed, chunk: chunk) == text)
        }
    }

    @Test("accepts concatenated members, as gzip(1) does")
    func members() async throws {
        let joined = try await gzip(Array("first\n".utf8)) + gzip(Array("second\n".utf8))
        #expect(try inflate(joined, chunk: 5) == Array("first\nsecond\n".utf8))
    }

    @Test("rejects truncated, corrupt and over-limit streams")
    func failures() async throws {
        let compressed = try await gzip([UInt8](repeating: 0, count: 4_000_000))
        #expect(throws: GzipInflater.Failure.truncated) { try inflate(Array(compressed.dropLast(9)), chunk: 100) }
        var corrupt = compressed
        corrupt[12] ^= 0xFF
        corrupt[13] ^= 0xFF
        #expect(throws: GzipInflater.Failure.self) { try inflate(corrupt, chunk: 100) }
        #expect(throws: GzipInflater.Failure.self) { try inflate(Array("not gzip at all".utf8), chunk: 4) }
        // A bomb: 4 MB of zeros from a few kB, against a 64 kB limit.
        #expect(compressed.count < 10_000)
        #expect(throws: GzipInflater.Failure.outputTooLarge(limit: 65_536)) { try inflate(compressed, chunk: 100, limit: 65_536) }
    }
}
