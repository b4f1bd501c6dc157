import ClearinghouseCore
import ClearinghouseFuzzHarness
import Foundation
import Testing

/// Every input saved under `Tests/FuzzCorpus/TARGET/` (the seeds `scripts/fuzz` starts from, and
/// each crash it found, saved as `crash-*`) replayed through the very harness libFuzzer runs.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: FuzzHarness.Target) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
            (name, Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    @Test("each saved input holds every property of its target", arguments: FuzzHarness.Target.allCases)
    func replay(target: FuzzHarness.Target) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 4, "the \(target) corpus lost its seeds")
        for input in inputs {
            #expect(throws: Never.self, "\(target)/\(input.name)") { try FuzzHarness.run(target, input.bytes) }
        }
    }

    @Test("the seeds reach past the parser: valid seeds decode to batches")
    func seedsAreValidBatches() throws {
        let deriver = PersonKeyDeriver(pepper: .init(data: [UInt8](repeating: 1, count: 32)))
        for (format, kind, name, lines) in [
            (BodyFormat.ndjson, BatchKind.signals, "seed-signal", 2), (.ndjson, .consents, "seed-consent", 1),
            (.csv, .signals, "seed-signal", 2), (.csv, .revocations, "seed-revocation", 1),
        ] {
            let target: FuzzHarness.Target = format == .ndjson ? .ndjson : .csv
            let bytes = try #require(try Self.inputs(target).first { $0.name == name }).bytes
            let decoder = BatchDecoder(
                kind: kind, format: format, gzip: false, limits: IngestLimits(), deriver: deriver, now: 1_800_000_000_000,
                spoolDirectory: NSTemporaryDirectory())
            try bytes.withUnsafeBytes { try decoder.feed($0) }
            #expect(try decoder.finish().received == lines, "\(format) \(name)")
        }
    }
}
