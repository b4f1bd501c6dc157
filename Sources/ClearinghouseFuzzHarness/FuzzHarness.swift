import ClearinghouseCore
import Crypto
import Foundation

/// What each libFuzzer target runs on one input, and what the regression tests replay on every
/// saved input (`Tests/FuzzCorpus/TARGET/`): the same code either way, so a crash libFuzzer
/// finds becomes a test by saving its input.
///
/// Each target checks properties, not only "does not crash": a decoder gives the same outcome
/// whatever the chunking of the body, a normalized identifier normalizes to itself, inflation
/// respects its limit and does not depend on chunking.
public enum FuzzHarness {
    public enum Target: String, CaseIterable, Sendable {
        /// The NDJSON batch decoder (all three batch kinds).
        case ndjson
        /// The CSV batch decoder (all three batch kinds).
        case csv
        /// The gzip path: the inflater alone, and gzip bodies through the decoder.
        case gzip
        /// The normalization profiles email-v1 and phone-e164-v1.
        case normalizer
    }

    /// A property violation: the fuzzer reports it as a crash with this message.
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    static let deriver = PersonKeyDeriver(pepper: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))
    static let limits = IngestLimits(
        maxBodyBytes: 1 << 20, maxDecodedBytes: 4 << 20, maxLineBytes: 1024, maxLinesPerBatch: 10_000,
        maxErrorsReported: 5, maxCategoriesPerBatch: 100, spoolMemoryBytes: 1 << 20)
    static let spoolDirectory = NSTemporaryDirectory()

    /// Runs `target` on `input`; throws a ``Violation`` when a property does not hold.
    public static func run(_ target: Target, _ input: [UInt8]) throws {
        switch target {
        case .ndjson: try decodeEveryKind(input, format: .ndjson, gzip: false)
        case .csv: try decodeEveryKind(input, format: .csv, gzip: false)
        case .gzip: try inflate(input)
        case .normalizer: try normalize(input)
        }
    }

    /// libFuzzer's callback body: runs `target` on the input and crashes on a violated property,
    /// so libFuzzer saves the input.
    public static func fuzzOne(_ target: Target, _ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
        do {
            try run(target, input)
        } catch {
            fatalError("\(error)")
        }
        return 0
    }

    /// The outcome of decoding: records received, or the rejection.
    enum Outcome: Equatable {
        case batch(received: Int, categories: [String], digest: [UInt8])
        case rejected(BatchDecoder.Rejection)
    }

    static func decode(_ chunks: [ArraySlice<UInt8>], kind: BatchKind, format: BodyFormat, gzip: Bool) -> Outcome {
        let decoder = BatchDecoder(
            kind: kind, format: format, gzip: gzip, limits: limits, deriver: deriver, now: 1_800_000_000_000,
            spoolDirectory: spoolDirectory)
        do {
            for chunk in chunks {
                try chunk.withUnsafeBytes { try decoder.feed($0) }
            }
            let batch = try decoder.finish()
            return .batch(received: batch.received, categories: batch.categories, digest: batch.bodyDigest)
        } catch let rejection as BatchDecoder.Rejection {
            return .rejected(rejection)
        } catch {
            return .rejected(.spoolFailed("not a rejection: \(type(of: error))"))
        }
    }

    /// Whole, then split where the input's last byte says: the outcome must not change.
    static func decodeEveryKind(_ input: [UInt8], format: BodyFormat, gzip: Bool) throws {
        let split = input.isEmpty ? 0 : Int(input[input.count - 1]) % (input.count + 1)
        for kind in BatchKind.allCases {
            let whole = decode([input[...]], kind: kind, format: format, gzip: gzip)
            let chunked = decode([input[..<split], input[split...]], kind: kind, format: format, gzip: gzip)
            let bytewise = input.count <= 256 ? decode(input.indices.map { input[$0...$0] }, kind: kind, format: format, gzip: gzip) : whole
            guard whole == chunked, whole == bytewise else {
                throw Violation(description: "\(format) \(kind): the outcome depends on chunking (split at \(split)): \(whole) vs \(chunked) vs \(bytewise)")
            }
            if case .batch(let received, _, _) = whole, received < 1 {
                throw Violation(description: "\(format) \(kind): a batch with no record was accepted")
            }
        }
    }

    static func inflate(_ input: [UInt8]) throws {
        func run(_ chunks: [ArraySlice<UInt8>]) -> (output: [UInt8], failure: GzipInflater.Failure?) {
            let inflater = GzipInflater(maxOutputBytes: limits.maxDecodedBytes)
            var output: [UInt8] = []
            do {
                for chunk in chunks {
                    try chunk.withUnsafeBytes { bytes in try inflater.inflate(bytes) { output.append(contentsOf: $0) } }
                }
                try inflater.finish()
                return (output, nil)
            } catch let failure as GzipInflater.Failure {
                return (output, failure)
            } catch {
                return (output, .corrupt("unexpected \(type(of: error))"))
            }
        }
        let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
        let whole = run([input[...]])
        let chunked = run([input[..<split], input[split...]])
        guard whole.output.count <= limits.maxDecodedBytes else {
            throw Violation(description: "gzip: \(whole.output.count) bytes out, over the limit")
        }
        guard (whole.failure == nil) == (chunked.failure == nil), whole.failure != nil || whole.output == chunked.output else {
            throw Violation(description: "gzip: the outcome depends on chunking (split at \(split))")
        }
        // The same bytes as a gzip body of each kind through the decoder.
        try decodeEveryKind(input, format: .ndjson, gzip: true)
    }

    static func normalize(_ input: [UInt8]) throws {
        let text = String(decoding: input, as: UTF8.self)
        for profile in NormalizationProfile.allCases {
            guard case .success(let normalized) = profile.normalize(text) else { continue }
            guard case .success(let again) = profile.normalize(normalized), again == normalized else {
                throw Violation(description: "\(profile.rawValue): normalizing \(normalized.debugDescription) again gives another answer")
            }
            guard !normalized.isEmpty, normalized.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw Violation(description: "\(profile.rawValue): the normalized form \(normalized.debugDescription) is not printable ASCII")
            }
        }
    }
}
