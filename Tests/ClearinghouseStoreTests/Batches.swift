import ClearinghouseCore
import Crypto
import Foundation
import Testing

/// Decoded batches built from NDJSON lines, as the daemon builds them from a request body.
enum Batches {
    static let salt = SymmetricKey(data: Array("contract-consortium-salt".utf8))
    static let spool = NSTemporaryDirectory()
    /// A fixed "now" for the suite: 2026-11-20T00:00:00Z.
    static let now: Int64 = RFC3339.parseMilliseconds("2026-11-20T00:00:00Z")!
    static let day: Int64 = 86_400_000

    static func token(_ person: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(person.utf8), using: salt))
    }

    /// The person key the daemon derives for `person` (kid k1).
    static func personKey(_ person: String) -> [UInt8] {
        TestDatabase.deriver.personKey(kid: "k1", token: Hex.decode(token(person))!).bytes
    }

    static func decode(_ kind: BatchKind, _ lines: [String], at now: Int64 = Batches.now) throws -> DecodedBatch {
        let decoder = BatchDecoder(
            kind: kind, format: .ndjson, gzip: false, limits: IngestLimits(), deriver: TestDatabase.deriver, now: now,
            spoolDirectory: spool)
        let body = Array((lines.joined(separator: "\n") + "\n").utf8)
        try body.withUnsafeBytes { try decoder.feed($0) }
        return try decoder.finish()
    }

    static func time(_ milliseconds: Int64) -> String { RFC3339.format(milliseconds: milliseconds) }

    static func consents(
        _ persons: [String], granted: Int64 = Batches.now - 30 * Batches.day, expires: Int64? = nil,
        purposes: [String] = ["affinity"], proof: String? = "cmp-1"
    ) throws -> DecodedBatch {
        try decode(
            .consents,
            persons.map { person in
                var line = #"{"token":"\#(token(person))","kid":"k1","purposes":[\#(purposes.map { "\"\($0)\"" }.joined(separator: ","))],"granted_at":"\#(time(granted))""#
                if let expires { line += #","expires_at":"\#(time(expires))""# }
                if let proof { line += #","proof":"\#(proof)""# }
                return line + "}"
            })
    }

    static func signals(_ rows: [(person: String, category: String)], weight: Double = 1, observed: Int64 = Batches.now - Batches.day)
        throws -> DecodedBatch
    {
        try decode(
            .signals,
            rows.map {
                #"{"token":"\#(token($0.person))","kid":"k1","category":"\#($0.category)","weight":\#(weight),"observed_at":"\#(time(observed))"}"#
            })
    }

    static func revocations(_ persons: [String]) throws -> DecodedBatch {
        try decode(.revocations, persons.map { #"{"token":"\#(token($0))","kid":"k1"}"# })
    }
}

/// Records what a release scan hands the counting engine: per person, the items and weights.
final class RecordingSink: PersonSignalSink, @unchecked Sendable {
    // @unchecked: one reader task fills a sink, and the test reads it after the scan returns.
    let catalog: ReleaseCatalog
    private(set) var persons: [[String]] = []

    init(catalog: ReleaseCatalog) {
        self.catalog = catalog
    }

    func addPerson(items: UnsafeBufferPointer<Int32>, weights: UnsafeBufferPointer<Double>) {
        let item = { (index: Int32) in "\(self.catalog.partners[self.catalog.items[Int(index)].partner]):\(self.catalog.items[Int(index)].category)" }
        persons.append(zip(items, weights).map { "\(item($0.0))@\($0.1)" }.sorted())
    }

    /// Every person's signals from all sinks, in a canonical order (person ids differ by backend).
    static func canonical(_ sinks: [RecordingSink]) -> [[String]] {
        sinks.flatMap(\.persons).sorted { $0.lexicographicallyPrecedes($1) }
    }
}

extension ClearinghouseStore {
    /// Adds partners with fresh keys; returns them as the daemon authenticates them.
    func addPartners(_ ids: [String]) async throws -> [String: AuthenticatedPartner] {
        var partners: [String: AuthenticatedPartner] = [:]
        for id in ids {
            let key = APIKey.generate()
            try await addPartner(id: PartnerID(id)!, name: id.capitalized, key: key, at: Batches.now)
            partners[id] = try #require(try await credential(keyID: key.keyID)).partner
        }
        return partners
    }

    /// Stores a batch without an idempotency key and returns its receipt.
    @discardableResult
    func store(_ batch: DecodedBatch, as partner: AuthenticatedPartner, at now: Int64 = Batches.now) async throws -> BatchReceipt {
        try await ingest(batch, partner: partner, idempotencyKey: nil, at: now).receipt
    }

    /// What a release at `now` would read, in canonical order.
    func releaseFeed(at now: Int64 = Batches.now, parts: Int = 1) async throws -> [[String]] {
        let (_, sinks) = try await readReleaseSignals(at: now, parts: parts, concurrency: 2) { RecordingSink(catalog: $0) }
        return RecordingSink.canonical(sinks)
    }
}
