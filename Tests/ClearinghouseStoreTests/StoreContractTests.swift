import ClearinghouseCore
import Foundation
import Testing

/// What every ``ClearinghouseStore`` backend must do, run against each of them on a real
/// database (a SQLite file; a PostgreSQL database made for the test).
@Suite("Store contract")
struct StoreContractTests {
    @Test("partners: add, refuse a duplicate, rotate (old key unusable), disable", arguments: StoreBackend.available)
    func partners(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let first = APIKey.generate()
            try await store.addPartner(id: PartnerID("acme")!, name: "Acme", key: first, at: Batches.now)
            await #expect(throws: StoreError.partnerExists("acme")) {
                try await store.addPartner(id: PartnerID("acme")!, name: "Again", key: APIKey.generate(), at: Batches.now)
            }
            let credential = try #require(try await store.credential(keyID: first.keyID))
            #expect(credential.usable && credential.partner.id == "acme" && credential.secretDigest == first.secretDigest)
            let second = APIKey.generate()
            try await store.rotateKey(partner: PartnerID("acme")!, key: second, at: Batches.now + 1)
            #expect(try await store.credential(keyID: first.keyID)?.usable == false)
            #expect(try await store.credential(keyID: second.keyID)?.usable == true)
            #expect(try await store.partners().map(\.keyID) == [second.keyID])
            try await store.disablePartner(PartnerID("acme")!, at: Batches.now + 2)
            #expect(try await store.credential(keyID: second.keyID)?.usable == false)
            #expect(try await store.partners().map(\.status) == ["disabled"])
            await #expect(throws: StoreError.partnerNotFound("nobody")) {
                try await store.disablePartner(PartnerID("nobody")!, at: Batches.now)
            }
            #expect(try await store.credential(keyID: "0000") == nil)
        }
    }

    @Test("consent merge: a later grant replaces, an earlier one is superseded, whatever the order of arrival", arguments: StoreBackend.available)
    func consentMerge(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            let created = try await store.store(try Batches.consents(["ann", "bob"], granted: Batches.now - 10 * Batches.day), as: acme)
            #expect(created.created == 2 && created.replaced == 0 && created.accepted == 2)
            try await store.store(try Batches.signals([("ann", "tents"), ("bob", "tents")]), as: acme)
            // Older than what is stored: kept as superseded, the stored consent stays.
            let late = try await store.store(try Batches.consents(["ann"], granted: Batches.now - 20 * Batches.day), as: acme)
            #expect(late.superseded == 1 && late.replaced == 0 && late.accepted == 0)
            // Newer: replaces, and bob's signals stay (the consent still grants affinity).
            let renewed = try await store.store(try Batches.consents(["bob"], granted: Batches.now - Batches.day), as: acme)
            #expect(renewed.replaced == 1 && renewed.signalsErased == 0)
            // Newer again, already expired: stored, counted, authorises nothing.
            let expired = try await store.store(
                try Batches.consents(["ann"], granted: Batches.now - 2 * Batches.day, expires: Batches.now - Batches.day), as: acme)
            #expect(expired.replaced == 1 && expired.alreadyExpired == 1)
            // Two lines for one person in one batch: the later grant wins whatever the order.
            let both = try await store.store(
                try Batches.decode(
                    .consents,
                    [
                        #"{"token":"\#(Batches.token("cat"))","kid":"k1","purposes":["affinity"],"granted_at":"2026-11-10T00:00:00Z"}"#,
                        #"{"token":"\#(Batches.token("cat"))","kid":"k1","purposes":["affinity"],"granted_at":"2026-11-01T00:00:00Z"}"#,
                    ]), as: acme)
            #expect(both.created == 1 && both.superseded == 1)
            let stats = try await store.stats(at: Batches.now)
            #expect(stats.liveConsents == 2, "bob and cat: ann's consent has expired")
            #expect(stats.signals == 2, "ann's signal stays stored until a purge")
            let history = try await store.consentHistory(partner: "acme", personKey: Batches.personKey("ann"), at: Batches.now)
            #expect(history.events.map(\.event) == ["superseded", "replaced"])
            #expect(history.current?.expiresAt != nil && !history.liveConsent && history.signals == 1)
            #expect(try await store.releaseFeed() == [["acme:tents@1.0"]], "ann's consent has expired: only bob's signal is released")
        }
    }

    @Test("consent gates signals: only persons with live affinity consent at that partner are stored", arguments: StoreBackend.available)
    func consentGating(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let partners = try await store.addPartners(["acme", "globex"])
            let acme = partners["acme"]!
            try await store.store(try Batches.consents(["ann"]), as: acme)
            try await store.store(try Batches.consents(["bob"], expires: Batches.now - 1), as: acme)
            try await store.store(try Batches.consents(["cat"]), as: partners["globex"]!)
            let receipt = try await store.store(
                try Batches.signals([("ann", "tents"), ("ann", "boots"), ("bob", "tents"), ("cat", "tents"), ("dan", "tents")]),
                as: acme)
            #expect(receipt.received == 5 && receipt.accepted == 2 && receipt.droppedNoConsent == 3)
            #expect(try await store.releaseFeed() == [["acme:boots@1.0", "acme:tents@1.0"]])
        }
    }

    @Test("revocation erases the consent, its signals and the unheld person key, and is recorded", arguments: StoreBackend.available)
    func revocation(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let partners = try await store.addPartners(["acme", "globex"])
            let (acme, globex) = (partners["acme"]!, partners["globex"]!)
            try await store.store(try Batches.consents(["ann", "bob"]), as: acme)
            try await store.store(try Batches.consents(["bob"]), as: globex)
            try await store.store(try Batches.signals([("ann", "tents"), ("bob", "tents")]), as: acme)
            try await store.store(try Batches.signals([("bob", "espresso")]), as: globex)
            #expect(try await store.stats(at: Batches.now).persons == 2)
            let receipt = try await store.store(try Batches.revocations(["ann", "bob", "zed"]), as: acme)
            #expect(receipt.revoked == 2 && receipt.signalsErased == 2 && receipt.notFound == 1)
            let stats = try await store.stats(at: Batches.now)
            #expect(stats.persons == 1, "ann's key is gone; bob's is held by globex")
            #expect(stats.signals == 1 && stats.liveConsents == 1)
            #expect(try await store.releaseFeed() == [["globex:espresso@1.0"]])
            let audit = try await store.consentAudit(asOf: Batches.now, partner: "acme")
            #expect(audit.partners.first?.revoked == 2 && audit.partners.first?.revocationsNotErased == 0)
            let history = try await store.consentHistory(partner: "acme", personKey: Batches.personKey("bob"), at: Batches.now)
            #expect(history.events.map(\.event) == ["revoked"] && history.current == nil && history.signals == 0)
            // Consent again after revocation: a new grant is accepted as new.
            let again = try await store.store(try Batches.consents(["ann"]), as: acme)
            #expect(again.created == 1)
        }
    }

    @Test("idempotent replay returns the first answer and stores nothing; another body is a conflict", arguments: StoreBackend.available)
    func idempotency(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            try await store.store(try Batches.consents(["ann"]), as: acme)
            let batch = try Batches.signals([("ann", "tents")])
            let first = try await store.ingest(batch, partner: acme, idempotencyKey: "run-1", at: Batches.now)
            guard case .stored(let stored) = first else { Issue.record("first upload not stored"); return }
            let again = try await store.ingest(
                try Batches.signals([("ann", "tents")]), partner: acme, idempotencyKey: "run-1", at: Batches.now + 5_000)
            guard case .replayed(let replay) = again else { Issue.record("the retry was not a replay: \(again)"); return }
            #expect(replay.storedForm == stored.storedForm, "the first answer, counts and ledger entry alike")
            #expect(stored.replayed == false && replay.replayed == true && replay.acceptedNow == 0)
            #expect(replay.storedAt == Batches.time(Batches.now) && stored.storedAt == replay.storedAt, "the time of the original")
            #expect(try await store.stats(at: Batches.now).signals == 1)
            await #expect(throws: StoreError.idempotencyConflict) {
                try await store.ingest(try Batches.signals([("ann", "boots")]), partner: acme, idempotencyKey: "run-1", at: Batches.now)
            }
            #expect(try await store.ledgerEntries(LedgerFilter(action: .signalsBatch)).count == 1)
        }
    }

    @Test(
        "a retry after the missing consents arrive stores the lines dropped before, once, and never restores an erased one",
        arguments: StoreBackend.available)
    func retryStoresDroppedLinesOnce(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            try await store.store(try Batches.consents(["ann"]), as: acme)
            let rows: [(person: String, category: String)] = [("ann", "tents"), ("bob", "tents"), ("cid", "tents"), ("bob", "boots")]
            func retry(at now: Int64) async throws -> BatchReceipt {
                let outcome = try await store.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "chunk-1", at: now)
                guard case .replayed(let receipt) = outcome else {
                    Issue.record("a retry was stored as a new batch: \(outcome)")
                    return outcome.receipt
                }
                return receipt
            }
            let first = try await store.ingest(try Batches.signals(rows), partner: acme, idempotencyKey: "chunk-1", at: Batches.now)
            #expect(first.receipt.accepted == 1 && first.receipt.droppedNoConsent == 3)
            let signalEntries = { try await store.ledgerEntries(LedgerFilter(action: .signalsBatch)).count }

            // Nothing changed: a plain replay, no write.
            let unchanged = try await retry(at: Batches.now + 1)
            #expect(unchanged.acceptedNow == 0 && unchanged.accepted == 1 && unchanged.droppedNoConsent == 3)
            #expect(try await signalEntries() == 1)

            // Bob's consent arrives: his two lines are stored, ann's is not stored again.
            try await store.store(try Batches.consents(["bob"]), as: acme)
            let completed = try await retry(at: Batches.now + 2)
            #expect(completed.acceptedNow == 2 && completed.accepted == 3 && completed.droppedNoConsent == 1)
            #expect(completed.batchID == first.receipt.batchID && completed.storedAt == Batches.time(Batches.now))
            #expect(try await store.stats(at: Batches.now).signals == 3)
            #expect(try await signalEntries() == 2, "the completion is recorded in the ledger")
            #expect(completed.ledgerSequence != first.receipt.ledgerSequence)
            let completionReceipt = LedgerReceipt(sequence: completed.ledgerSequence!, hash: Hex.decode(completed.ledgerHash!)!)
            #expect(try await store.verifyLedger(receipts: [completionReceipt]).finding == nil)

            // Ann revokes (her stored line is erased) and consents again, cid consents: only
            // cid's dropped line is stored; ann's erased line stays erased.
            try await store.store(try Batches.revocations(["ann"]), as: acme)
            try await store.store(try Batches.consents(["ann", "cid"], granted: Batches.now - Batches.day), as: acme)
            let last = try await retry(at: Batches.now + 3)
            #expect(last.acceptedNow == 1 && last.accepted == 4 && last.droppedNoConsent == 0)
            #expect(try await store.stats(at: Batches.now).signals == 3, "bob's two and cid's one")

            // Every line is accounted for: later retries replay the last answer.
            let replay = try await retry(at: Batches.now + 4)
            #expect(replay.acceptedNow == 0 && replay.storedForm == last.storedForm)
            #expect(try await signalEntries() == 3)
        }
    }

    @Test("the ledger: one entry per change, gapless, chained, verifying, with its Merkle leaves", arguments: StoreBackend.available)
    func ledger(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            let receipt = try await store.store(try Batches.consents(["ann"]), as: acme)
            try await store.store(try Batches.signals([("ann", "tents")]), as: acme)
            try await store.store(try Batches.revocations(["ann"]), as: acme)
            _ = try await store.recordExport(
                ExportLedgerDetails(release: 1, files: 3, manifestSHA256: String(repeating: "a", count: 64), keyID: "k"), partner: "acme",
                at: Batches.now)
            let entries = try await store.ledgerEntries(LedgerFilter(limit: 100))
            #expect(entries.map(\.sequence) == Array(1...5))
            #expect(entries.map(\.action) == [.partnerAdded, .consentsBatch, .signalsBatch, .revocationsBatch, .exportWritten])
            for (previous, entry) in zip(entries, entries.dropFirst()) { #expect(entry.previousHash == previous.hash) }
            #expect(entries.allSatisfy { $0.hash == $0.computedHash })
            #expect(entries[1].sequence == receipt.ledgerSequence && Hex.encode(entries[1].hash) == receipt.ledgerHash)
            #expect(!entries.contains { $0.details.contains(Batches.token("ann")) }, "no token in the ledger")
            let verification = try await store.verifyLedger(
                receipts: [LedgerReceipt(sequence: receipt.ledgerSequence!, hash: Hex.decode(receipt.ledgerHash!)!)])
            #expect(verification.finding == nil && verification.verified == 5 && verification.headHash == entries[4].hash)
            let leaves = try await store.ledgerHashes()
            #expect(leaves == entries.map(\.hash))
            #expect(try await store.ledgerHashes(after: 3) == Array(leaves[3...]))
            #expect(MerkleTree.root(leaves) == MerkleTree.root(Array(leaves[..<3]) + (try await store.ledgerHashes(after: 3))))
            #expect(try await store.ledgerEntries(LedgerFilter(partner: "acme", action: .signalsBatch)).map(\.sequence) == [3])
            let bad = try await store.verifyLedger(receipts: [LedgerReceipt(sequence: 2, hash: [UInt8](repeating: 1, count: 32))])
            #expect(bad.finding == .receiptMismatch(sequence: 2))
        }
    }

    @Test("the budget: releases that fit are stored and spend rho; the one past it is refused", arguments: StoreBackend.available)
    func budget(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let settings = PrivacySettings(k: 10, epsilon: 1)
            let rho = settings.plan.rho
            let budget = PrivacyBudget(
                epsilonPerPeriod: ZeroConcentratedDP.epsilon(rho: 2 * rho, delta: 1e-6) + 1e-9, period: .month, delta: 1e-6)
            let release = Self.newRelease(settings: settings)
            let first = try await store.storeRelease(release, budget: budget)
            _ = try await store.storeRelease(release, budget: budget)
            #expect(abs(try await store.spentRho(period: release.budgetPeriod) - 2 * rho) < 1e-12)
            await #expect(throws: ReleaseError.self) { try await store.storeRelease(release, budget: budget) }
            #expect(try await store.releases().count == 2)
            // Without noise a release costs nothing, and is stored with the budget spent.
            let free = try await store.storeRelease(Self.newRelease(settings: PrivacySettings(k: 10, differentialPrivacy: false)), budget: budget)
            let all = try await store.releases()
            #expect(free.epsilonLeft == nil && all.count == 3 && all.first?.id == free.id)
            let latest = try await store.release(id: nil)
            let byID = try await store.release(id: first.id)
            #expect(latest?.id == free.id && byID?.trigger == "contract")
            let table = try await store.releasedTable(id: first.id)
            let missing = try await store.releasedTable(id: 999)
            #expect(table != nil && missing == nil)
            #expect(try await store.ledgerEntries(LedgerFilter(action: .releaseComputed)).count == 3)
        }
    }

    static func newRelease(settings: PrivacySettings) -> NewRelease {
        let catalog = ReleaseCatalog(partners: ["acme"], items: [])
        let counts = AffinityAccumulator(catalog: catalog, bounds: settings.bounds).counts
        var generator = SystemRandomNumberGenerator()
        let built = ReleaseBuilder.build(counts: counts, catalog: catalog, settings: settings, signals: 0, generator: &generator)
        return NewRelease(
            createdAt: Batches.now, trigger: "contract", settings: settings, plan: settings.plan, summary: built.summary,
            budgetPeriod: PrivacyBudget.Period.month.key(at: Batches.now), durationMilliseconds: 1, table: built.table)
    }

    @Test("purge erases expired consents with their signals and unheld keys, and old signals; one ledger entry", arguments: StoreBackend.available)
    func purge(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            try await store.store(try Batches.consents(["ann"], expires: Batches.now + Batches.day), as: acme)
            try await store.store(try Batches.consents(["bob"]), as: acme)
            try await store.store(try Batches.signals([("ann", "tents")]), as: acme)
            try await store.store(try Batches.signals([("bob", "tents")], observed: Batches.now - 400 * Batches.day), as: acme)
            try await store.store(try Batches.signals([("bob", "boots")]), as: acme)
            let nothing = try await store.purge(at: Batches.now, signalsObservedBefore: Batches.now - 500 * Batches.day)
            #expect(!nothing.erasedAnything && nothing.ledgerSequence == nil)
            let later = Batches.now + 2 * Batches.day
            let outcome = try await store.purge(at: later, signalsObservedBefore: later - 365 * Batches.day)
            #expect(outcome.expiredConsents == 1 && outcome.signalsOfExpiredConsents == 1)
            #expect(outcome.signalsPastRetention == 1 && outcome.personsErased == 1 && outcome.ledgerSequence != nil)
            let stats = try await store.stats(at: later)
            #expect(stats.persons == 1 && stats.signals == 1 && stats.perPartner.first?.expiredConsents == 0)
            let history = try await store.consentHistory(partner: "acme", personKey: Batches.personKey("ann"), at: later)
            #expect(history.events.map(\.event) == ["expired"])
            #expect(try await store.verifyLedger(receipts: []).finding == nil)
        }
    }

    @Test("stats and the consent audit count persons, overlaps and problems, never rows", arguments: StoreBackend.available)
    func statsAndAudit(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let partners = try await store.addPartners(["acme", "globex", "initech"])
            try await store.store(try Batches.consents(["ann", "bob", "cat"]), as: partners["acme"]!)
            try await store.store(try Batches.consents(["bob", "cat"], proof: nil), as: partners["globex"]!)
            try await store.store(try Batches.consents(["cat"], expires: Batches.now - 1), as: partners["initech"]!)
            try await store.store(try Batches.signals([("ann", "tents"), ("bob", "boots"), ("bob", "tents")]), as: partners["acme"]!)
            let stats = try await store.stats(at: Batches.now)
            #expect(stats.partners == 3 && stats.persons == 3 && stats.personsAtSeveralPartners == 2 && stats.liveConsents == 5)
            #expect(stats.overlaps == [.init(partners: ["acme", "globex"], persons: 2)])
            let acme = try #require(stats.perPartner.first { $0.id == "acme" })
            #expect(acme.signals == 3 && acme.categories == 2 && acme.liveConsents == 3)
            #expect(stats.perPartner.first { $0.id == "initech" }?.expiredConsents == 1)
            let audit = try await store.consentAudit(asOf: Batches.now, partner: nil)
            #expect(audit.partners.map(\.partner) == ["acme", "globex", "initech"])
            #expect(audit.partners[1].liveWithoutProof == 2 && audit.partners[2].expired == 1)
            #expect(audit.partners[0].signals == 3 && audit.partners[0].signalsWithoutConsent == 0)
            await #expect(throws: StoreError.partnerNotFound("nobody")) { try await store.consentAudit(asOf: Batches.now, partner: "nobody") }
        }
    }

    @Test("the release feed: every live signal once, grouped by person, the same whatever the number of parts", arguments: StoreBackend.available)
    func releaseFeed(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let partners = try await store.addPartners(["acme", "globex"])
            let persons = (0..<60).map { "person-\($0)" }
            try await store.store(try Batches.consents(persons), as: partners["acme"]!)
            try await store.store(try Batches.consents(Array(persons[20...])), as: partners["globex"]!)
            try await store.store(try Batches.signals(persons.map { ($0, "tents") } + persons.prefix(10).map { ($0, "boots") }), as: partners["acme"]!)
            try await store.store(try Batches.signals(persons.map { ($0, "espresso") }), as: partners["globex"]!)
            let one = try await store.releaseFeed(parts: 1)
            #expect(one.count == 60 && one.reduce(0) { $0 + $1.count } == 60 + 10 + 40)
            #expect(try await store.releaseFeed(parts: 7) == one)
            #expect(one.contains(["acme:boots@1.0", "acme:tents@1.0"]) && one.contains(["acme:tents@1.0", "globex:espresso@1.0"]))
        }
    }

    @Test("opening for writing with another pepper is refused", arguments: StoreBackend.available)
    func pepperBinding(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            #expect(try await store.pepperFingerprint() == TestDatabase.deriver.fingerprint)
            await #expect(throws: StoreError.pepperMismatch) { try await store.bindPepper(fingerprint: "another") }
            try await store.bindPepper(fingerprint: TestDatabase.deriver.fingerprint)
            try await store.checkReady()
        }
    }
}
