import ClearinghouseCore
import Crypto
import ClearinghousePostgres
import Foundation
import Testing

/// The two release engines (counting in memory from one snapshot, counting in SQL in the
/// database) and both backends give the same exact counts on the same consortium.
@Suite("Release engines agree")
struct ReleaseEngineTests {
    /// A random consortium: partners, consents (some expired), weighted signals with repeats.
    /// Weights are multiples of 1/2, so sums are exact in any order and ties are real ties.
    static func fill(_ store: any ClearinghouseStore, seed: UInt64, persons count: Int = 240) async throws {
        var random = SeededGenerator(seed: seed)
        let partners = try await store.addPartners(["acme", "globex", "initech", "umbrella"])
        let persons = (0..<count).map { "person-\($0)" }
        for (id, partner) in partners.sorted(by: { $0.key < $1.key }) {
            let holders = persons.filter { _ in Int.random(in: 0..<10, using: &random) < 7 }
            let expired = holders.filter { _ in Int.random(in: 0..<10, using: &random) == 0 }
            try await store.store(try Batches.consents(holders.filter { !expired.contains($0) }), as: partner)
            try await store.store(try Batches.consents(expired, expires: Batches.now + Batches.day), as: partner)
            var rows: [(person: String, category: String, weight: Double)] = []
            for person in holders {
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    rows.append((person, "\(id)-c\(Int.random(in: 0..<6, using: &random))", Double(Int.random(in: 1...6, using: &random)) / 2))
                }
            }
            try await store.store(
                try Batches.decode(
                    .signals,
                    rows.map {
                        #"{"token":"\#(Batches.token($0.person))","kid":"k1","category":"\#($0.category)","weight":\#($0.weight),"observed_at":"2026-11-01T00:00:00Z"}"#
                    }), as: partner)
        }
    }

    @Test("memory on SQLite, memory on PostgreSQL and SQL in PostgreSQL: identical exact counts", arguments: [UInt64(1), 2, 3])
    func enginesAgree(seed: UInt64) async throws {
        print("release engine seed \(seed)")
        let settings = PrivacySettings(k: 10, bounds: .init(itemsPerPartner: 2, partnersPerPerson: 2), differentialPrivacy: false)
        // Expired consents are read two days on, so some have lapsed by then.
        let at = Batches.now + 2 * Batches.day
        var results: [String: [String]] = [:]
        for backend in StoreBackend.available {
            try await TestDatabase.with(backend) { store, _ in
                try await Self.fill(store, seed: seed)
                for engine in ReleaseEngine.allCases {
                    let service = ReleaseService(store: store, settings: settings, budget: PrivacyBudget(), engine: engine)
                    if backend == .sqlite && engine == .database {
                        await #expect(throws: ReleaseError.self) { try await service.exactCounts(at: at) }
                        continue
                    }
                    results["\(backend) \(engine)"] = try await service.exactCounts(at: at).canonicalLines
                }
                if let postgres = store as? PostgresStore {
                    // The Citus form of the statement (every step NOT MATERIALIZED).
                    results["postgres database, inlined"] =
                        try await postgres.databaseCounts(at: at, bounds: settings.bounds, inlineSteps: true).canonicalLines
                }
            }
        }
        let reference = try #require(results["sqlite memory"])
        #expect(reference.contains { $0.hasPrefix("pair ") } && reference.contains { $0.hasPrefix("own_pair ") })
        #expect(reference.contains { $0.hasPrefix("item_within ") } && reference.contains { $0.hasPrefix("overlap ") })
        for (name, lines) in results where name != "sqlite memory" {
            #expect(lines == reference, "\(name) differs from sqlite memory: \(Set(lines).symmetricDifference(reference).sorted().prefix(6))")
        }
        // SQLite: columnar and memory; PostgreSQL: columnar (which scans there), memory, database, inlined.
        if TestPostgres.server != nil { #expect(results.count == 6) }
    }
}

/// SplitMix64: a seeded generator, so a failing consortium can be rebuilt from its printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A small consortium's release, byte for byte, with the noise off: a rewrite of the release
/// engine must keep its meaning (the same bounds, tie-breaks and thresholds), so the stored
/// table and summary of this release may not change by one byte, on either backend.
@Suite("Release output pinned")
struct PinnedReleaseTests {
    /// SHA-256 of the stored released table (`ReleasedTable.encoded()`) and of the summary's
    /// JSON (sorted keys), recorded at the engine of version 1.2.0. Changing them needs a
    /// reason written in the commit: they change only when what a release means changes.
    static let pinnedTable = "afdc7839ff8038eac7e8b831692b1094c2c822166d4dce1026fd7dc551828073"
    static let pinnedSummary = "eab09e0ac92b2a35ee6dc1fbef957120562192dedf9a214f6d4a3370b01f64f8"

    @Test("a seeded consortium's release without noise is the same bytes as pinned, on every backend and with 1, 2 or 16 workers", arguments: StoreBackend.available)
    func pinned(_ backend: StoreBackend) async throws {
        let seed: UInt64 = 1
        print("pinned release seed \(seed)")
        let settings = PrivacySettings(k: 10, bounds: .init(itemsPerPartner: 2, partnersPerPerson: 2), differentialPrivacy: false)
        try await TestDatabase.with(backend) { store, _ in
            try await ReleaseEngineTests.fill(store, seed: seed, persons: 500)
            for workers in [1, 2, 16] {
                let service = ReleaseService(store: store, settings: settings, budget: PrivacyBudget(), workers: workers)
                let record = try await service.releaseNow(trigger: "test", at: Batches.now + 2 * Batches.day)
                let table = try #require(try await store.releasedTable(id: record.id))
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                let tableDigest = Hex.encode(SHA256.hash(data: table.encoded()))
                let summaryDigest = Hex.encode(SHA256.hash(data: try encoder.encode(record.summary)))
                #expect(record.summary.pairsReleased > 0 && record.summary.pairsSuppressed > 0, "the consortium exercises the threshold: \(record.summary.pairsReleased) released, \(record.summary.pairsSuppressed) held back")
                #expect(tableDigest == Self.pinnedTable, "\(backend), \(workers) workers: table \(tableDigest)")
                #expect(summaryDigest == Self.pinnedSummary, "\(backend), \(workers) workers: summary \(summaryDigest)")
            }
        }
    }
}
