import ClearinghouseCore
import Foundation
import Testing

/// Outcome batches in the store: corrections replace the live report, keep the replaced one,
/// and stay one live report per suggestion and period when two stores write at once.
@Suite("Store contract: outcomes")
struct OutcomeStoreTests {
    static func batch(_ counts: [(suggested: String, invited: Int64, accepted: Int64)], digest: UInt8) -> OutcomeBatch {
        let start = Batches.now - 14 * Batches.day
        let records = counts.map { count in
            OutcomeRecord(
                partner: "acme",
                line: OutcomeLine(
                    release: 1, kind: .cross, item: "c01", suggested: count.suggested, invited: count.invited, accepted: count.accepted,
                    periodStart: start, periodEnd: start + 7 * Batches.day),
                inBaseline: false, mode: .explore, recordedAt: Batches.now)
        }
        return OutcomeBatch(records: records, bodyDigest: [UInt8](repeating: digest, count: 32), sentDigest: [UInt8](repeating: digest, count: 32))
    }

    @Test("a correction replaces the live report and keeps the old one; a replay stores nothing; another body under the key conflicts", arguments: StoreBackend.available)
    func corrections(_ backend: StoreBackend) async throws {
        try await TestDatabase.with(backend) { store, _ in
            let acme = try await store.addPartners(["acme"])["acme"]!
            let first = try await store.storeOutcomes(
                Self.batch([("globex:c02", 100, 10), ("globex:c03", 50, 1)], digest: 1), partner: acme, idempotencyKey: "w1", at: Batches.now)
            #expect(first.receipt.stored == 2 && first.receipt.replaced == 0)
            let replay = try await store.storeOutcomes(
                Self.batch([("globex:c02", 100, 10), ("globex:c03", 50, 1)], digest: 1), partner: acme, idempotencyKey: "w1", at: Batches.now + 5)
            #expect(replay == .replayed(replay.receipt) && replay.receipt.batchID == first.receipt.batchID && replay.receipt.replayed == true)
            await #expect(throws: StoreError.idempotencyConflict) {
                _ = try await store.storeOutcomes(Self.batch([("globex:c02", 1, 0)], digest: 2), partner: acme, idempotencyKey: "w1", at: Batches.now)
            }
            // A signal batch cannot reuse an outcome batch's key either.
            await #expect(throws: StoreError.idempotencyConflict) {
                _ = try await store.ingest(try Batches.consents(["p1"]), partner: acme, idempotencyKey: "w1", at: Batches.now)
            }
            let corrected = try await store.storeOutcomes(
                Self.batch([("globex:c02", 100, 14)], digest: 3), partner: acme, idempotencyKey: nil, at: Batches.now + 10)
            #expect(corrected.receipt.stored == 0 && corrected.receipt.replaced == 1)
            let records = try await store.outcomes(partner: "acme", endingAfter: nil)
            #expect(records.count == 3)
            let old = try #require(records.first { !$0.isLive })
            #expect(old.line.accepted == 10 && old.replacedAt == Batches.now + 10)
            #expect(records.filter(\.isLive).map(\.line.accepted).sorted() == [1, 14])
            #expect(try await store.outcomes(partner: "globex", endingAfter: nil).isEmpty)
            #expect(try await store.outcomes(partner: nil, endingAfter: Batches.now).isEmpty, "the period ended a week ago")
            let entry = try #require(try await store.ledgerEntries(LedgerFilter(action: .outcomesBatch)).last)
            #expect(entry.details.contains("\"accepted_before\":10"))
            #expect(try await store.verifyLedger(receipts: []).finding == nil)
        }
    }

    @Test("corrections of one report sent through two stores at once leave exactly one live report", arguments: StoreBackend.available)
    func concurrentCorrections(_ backend: StoreBackend) async throws {
        let database = try await backend.makeDatabase()
        let one = try await database.open()
        let two = try await database.open()
        defer {
            one.close()
            two.close()
        }
        let acme = try await one.store.addPartners(["acme"])["acme"]!
        try await withThrowingTaskGroup(of: OutcomeStoreResult.self) { group in
            for round in 0..<12 {
                let store = round % 2 == 0 ? one.store : two.store
                group.addTask {
                    try await store.storeOutcomes(
                        Self.batch([("globex:c02", 100, Int64(round))], digest: UInt8(round)), partner: acme, idempotencyKey: nil,
                        at: Batches.now + Int64(round))
                }
            }
            var stored = 0
            var replaced = 0
            for try await result in group {
                stored += result.receipt.stored
                replaced += result.receipt.replaced
            }
            #expect(stored == 1 && replaced == 11)
        }
        let records = try await two.store.outcomes(partner: "acme", endingAfter: nil)
        #expect(records.count == 12 && records.filter(\.isLive).count == 1)
        try await database.drop()
    }
}
