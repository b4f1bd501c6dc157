import ClearinghouseCore
import ClearinghousePostgres
import Foundation
import Testing

/// The two release engines (counting in memory from one snapshot, counting in SQL in the
/// database) and both backends give the same exact counts on the same consortium.
@Suite("Release engines agree")
struct ReleaseEngineTests {
    /// A random consortium: partners, consents (some expired), weighted signals with repeats.
    /// Weights are multiples of 1/2, so sums are exact in any order and ties are real ties.
    static func fill(_ store: any ClearinghouseStore, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let partners = try await store.addPartners(["acme", "globex", "initech", "umbrella"])
        let persons = (0..<240).map { "person-\($0)" }
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
        if TestPostgres.server != nil { #expect(results.count == 4) }
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
