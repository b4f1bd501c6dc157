import ClearinghouseCore
import Foundation
import Testing

/// Several writers on one database, as two daemons behind a load balancer are: what SQLite
/// gets from its single writer, PostgreSQL must get from its locks (see `PostgresStore`).
@Suite("Store contract: several writers on one database")
struct StoreConcurrencyTests {
    /// Runs `body` with two stores opened separately on one new database.
    func withTwoStores(
        _ backend: StoreBackend, _ body: (any ClearinghouseStore, any ClearinghouseStore) async throws -> Void
    ) async throws {
        let database = try await backend.makeDatabase()
        let first = try await database.open()
        let second = try await database.open()
        defer {
            first.close()
            second.close()
        }
        do {
            try await body(first.store, second.store)
        } catch {
            try await database.drop()
            throw error
        }
        try await database.drop()
    }

    @Test("consents and signals written at once through two stores: no lost update, the later grant wins, the ledger stays gapless", arguments: StoreBackend.available)
    func concurrentConsents(_ backend: StoreBackend) async throws {
        try await withTwoStores(backend) { one, two in
            let partners = try await one.addPartners(["acme", "globex"])
            let acme = partners["acme"]!
            let persons = (0..<200).map { "p\($0)" }
            // Each round: one store grants at an earlier time, the other at a later one,
            // for the same persons, at the same moment; signals go in alongside.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<6 {
                    let early = Batches.now - Int64(40 - round) * Batches.day
                    let late = Batches.now - Int64(20 - round) * Batches.day
                    group.addTask { try await one.store(try Batches.consents(persons, granted: early), as: acme) }
                    group.addTask { try await two.store(try Batches.consents(persons.reversed(), granted: late), as: acme) }
                    group.addTask { try await one.store(try Batches.consents(persons, granted: late), as: partners["globex"]!) }
                }
                try await group.waitForAll()
            }
            // Every person's consent is the latest grant sent: round 5's late one.
            let history = try await two.consentHistory(partner: "acme", personKey: Batches.personKey("p7"), at: Batches.now)
            #expect(history.current?.grantedAt == RFC3339.format(milliseconds: Batches.now - 15 * Batches.day))
            let stats = try await one.stats(at: Batches.now)
            #expect(stats.liveConsents == 400 && stats.persons == 200 && stats.personsAtSeveralPartners == 200)
            let entries = try await two.ledgerEntries(LedgerFilter(limit: 1000))
            #expect(entries.map(\.sequence) == Array(1...Int64(entries.count)) && entries.count == 2 + 18)
            #expect(try await one.verifyLedger(receipts: []).finding == nil)
        }
    }

    @Test("a revocation racing signal uploads leaves no signal of the revoked person", arguments: StoreBackend.available)
    func revocationRacesSignals(_ backend: StoreBackend) async throws {
        try await withTwoStores(backend) { one, two in
            let acme = try await one.addPartners(["acme"])["acme"]!
            let persons = (0..<300).map { "p\($0)" }
            try await one.store(try Batches.consents(persons), as: acme)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<4 {
                    group.addTask { try await one.store(try Batches.signals(persons.map { ($0, "c\(round)") }), as: acme) }
                }
                group.addTask { try await two.store(try Batches.revocations(Array(persons[..<150])), as: acme) }
                try await group.waitForAll()
            }
            let audit = try await one.consentAudit(asOf: Batches.now, partner: "acme")
            #expect(audit.partners.first?.signalsWithoutConsent == 0, "a signal outlived its consent")
            #expect(audit.partners.first?.revocationsNotErased == 0)
            #expect(try await one.stats(at: Batches.now).persons == 150)
        }
    }

    @Test("one Idempotency-Key sent through both stores at once is stored once and replayed once", arguments: StoreBackend.available)
    func sameKeyTwice(_ backend: StoreBackend) async throws {
        try await withTwoStores(backend) { one, two in
            let acme = try await one.addPartners(["acme"])["acme"]!
            try await one.store(try Batches.consents(["ann", "bob"]), as: acme)
            let rows: [(person: String, category: String)] = [("ann", "tents"), ("bob", "boots")]
            async let first = one.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "nightly-1", at: Batches.now)
            async let second = two.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "nightly-1", at: Batches.now)
            let outcomes = try await [first, second]
            #expect(outcomes.filter { if case .stored = $0 { true } else { false } }.count == 1)
            #expect(outcomes[0].receipt.storedForm == outcomes[1].receipt.storedForm)
            #expect(try await one.stats(at: Batches.now).signals == 2)
        }
    }

    @Test(
        "two retries at once of a batch whose missing consents arrived: the dropped lines are stored once",
        arguments: StoreBackend.available)
    func concurrentCompletion(_ backend: StoreBackend) async throws {
        try await withTwoStores(backend) { one, two in
            let acme = try await one.addPartners(["acme"])["acme"]!
            let rows: [(person: String, category: String)] = (0..<200).map { ("person-\($0)", "tents") }
            let first = try await one.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "nightly-2", at: Batches.now)
            #expect(first.receipt.droppedNoConsent == 200)
            try await one.store(try Batches.consents(rows.map(\.person)), as: acme)
            async let retryOne = one.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "nightly-2", at: Batches.now + 1)
            async let retryTwo = two.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "nightly-2", at: Batches.now + 1)
            let retries = try await [retryOne, retryTwo]
            #expect(retries.map { $0.receipt.acceptedNow ?? -1 }.sorted() == [0, 200], "one retry completes, the other replays it")
            #expect(try await one.stats(at: Batches.now).signals == 200)
        }
    }

    @Test("two releases started at once with room for one: exactly one is stored", arguments: StoreBackend.available)
    func budgetRace(_ backend: StoreBackend) async throws {
        try await withTwoStores(backend) { one, two in
            let settings = PrivacySettings(k: 10, epsilon: 1)
            let budget = PrivacyBudget(
                epsilonPerPeriod: ZeroConcentratedDP.epsilon(rho: settings.plan.rho, delta: 1e-6) + 1e-9, period: .month, delta: 1e-6)
            let release = StoreContractTests.newRelease(settings: settings)
            for _ in 0..<3 {
                let stored = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for store in [one, two] {
                        group.addTask {
                            do {
                                _ = try await store.storeRelease(release, budget: budget)
                                return true
                            } catch is ReleaseError {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(stored <= 1)
            }
            let releases = try await one.releases()
            #expect(releases.count == 1, "the budget held room for one release, across every race")
            let verification = try await two.verifyLedger(receipts: [])
            #expect(verification.finding == nil)
        }
    }
}

@Suite("Store contract: the scheduler lease")
struct StoreLeaseTests {
    @Test("a lease: one holder at a time, renewed by its holder, taken over once expired, given up at once", arguments: StoreBackend.available)
    func lease(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, database in
            let other = try await database.open()
            defer { other.close() }
            let t0 = Batches.now
            // Two daemons ask at the same moment: exactly one gets it.
            async let a = store.acquireLease("scheduler", holder: "a", now: t0, ttl: 10_000)
            async let b = other.store.acquireLease("scheduler", holder: "b", now: t0, ttl: 10_000)
            let (gotA, gotB) = try await (a, b)
            #expect(gotA != gotB, "exactly one of two simultaneous requests holds the lease")
            let (winner, loser) = gotA ? ("a", "b") : ("b", "a")
            #expect(try await store.leaseHolder("scheduler", at: t0 + 1) == winner)
            // The holder renews; the other cannot take it before it expires.
            #expect(try await store.acquireLease("scheduler", holder: winner, now: t0 + 5_000, ttl: 10_000))
            #expect(!(try await other.store.acquireLease("scheduler", holder: loser, now: t0 + 14_000, ttl: 10_000)))
            // Unrenewed past its expiry (a dead holder): the other takes it.
            #expect(try await other.store.acquireLease("scheduler", holder: loser, now: t0 + 15_000, ttl: 10_000))
            #expect(try await store.leaseHolder("scheduler", at: t0 + 15_001) == loser)
            #expect(!(try await store.acquireLease("scheduler", holder: winner, now: t0 + 16_000, ttl: 10_000)))
            // Given up at shutdown: free at once; only the holder can give it up.
            try await store.releaseLease("scheduler", holder: winner)
            #expect(try await store.leaseHolder("scheduler", at: t0 + 16_001) == loser)
            try await other.store.releaseLease("scheduler", holder: loser)
            #expect(try await store.leaseHolder("scheduler", at: t0 + 16_002) == nil)
            #expect(try await store.acquireLease("scheduler", holder: winner, now: t0 + 16_003, ttl: 10_000))
        }
    }
}
