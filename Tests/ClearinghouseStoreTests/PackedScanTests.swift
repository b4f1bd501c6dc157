import ClearinghouseCore
import Foundation
import NIOCore
import Testing

@testable import ClearinghousePostgres

/// The PostgreSQL release scan's packed layout gives the sink exactly what the per-person
/// layout gives, in any span size, and copes with signals that arrive out of person order.
@Suite("PostgreSQL packed release scan")
struct PackedScanTests {
    static let map = CategoryMap(
        partners: [(1, "acme"), (2, "globex")], categories: [(1, 1, "tents"), (3, 1, "boots"), (2, 2, "kayaks")])

    static func packed(_ records: [(person: Int64, category: Int64, weight: Double)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for record in records {
            buffer.writeInteger((record.person << PackedSignals.categoryBits) | record.category)
            buffer.writeInteger(record.weight.bitPattern)
        }
        return buffer
    }

    @Test("records out of person order are grouped as the index orders them; unknown categories and expired consents are left out")
    func unsortedRecords() {
        let plan = PostgresReleasePlan(
            map: Self.map, expired: [.init(partner: 2, person: 9)], ranges: [], packs: true)
        let ordered: [(person: Int64, category: Int64, weight: Double)] = [
            (5, 1, 1), (5, 3, 2), (5, 2, 0.5), (7, 3, 1), (7, 3, 4), (9, 1, 1), (9, 2, 3), (11, 99, 1),
        ]
        var shuffled = ordered
        var random = SeededGenerator(seed: 3)
        while shuffled.map(\.person) == ordered.map(\.person) { shuffled.shuffle(using: &random) }
        func persons(_ records: [(person: Int64, category: Int64, weight: Double)]) -> [[String]] {
            let sink = RecordingSink(catalog: Self.map.catalog)
            var grouper = PersonGrouper(plan: plan)
            grouper.feed(Self.packed(records), into: sink)
            return sink.persons
        }
        let expected = [
            ["acme:boots@2.0", "acme:tents@1.0", "globex:kayaks@0.5"], ["acme:boots@1.0", "acme:boots@4.0"], ["acme:tents@1.0"],
        ]
        #expect(persons(ordered) == expected)
        #expect(persons(shuffled) == expected, "out of order: sorted before grouping")
    }

    @Test(
        "on PostgreSQL: packed spans of any size and the per-person layout read the same persons",
        .enabled(if: StoreBackend.available.contains(.postgres), "needs the PostgreSQL server scripts/test starts"))
    func layoutsAgree() async throws {
        try await TestDatabase.with(.postgres) { store, _ in try await Self.compareLayouts(store) }
    }

    static func compareLayouts(_ store: any ClearinghouseStore) async throws {
        try await ReleaseEngineTests.fill(store, seed: 5)
        let postgres = try #require(store as? PostgresStore)
        let now = Batches.now + 2 * Batches.day
        let read = try await postgres.readSnapshot { connection in
            let plan = try await PostgresReleasePlan.make(connection, now: now, parts: 3, logger: postgres.logger)
            #expect(plan.packs)
            var results: [[[String]]] = []
            for layout in ["per-person", "packed", "packed in tiny spans"] {
                var sinks: [RecordingSink] = []
                for range in plan.ranges {
                    let sink = RecordingSink(catalog: plan.catalog)
                    switch layout {
                    case "per-person": try await plan.scanPerPerson(connection, persons: range, into: sink, logger: postgres.logger)
                    case "packed": try await PackedSignals(plan: plan).scan(connection, persons: range, into: sink, logger: postgres.logger)
                    default:
                        var scan = PackedSignals(plan: plan)
                        scan.firstSpan = 3
                        scan.targetBytes = 300
                        try await scan.scan(connection, persons: range, into: sink, logger: postgres.logger)
                    }
                    sinks.append(sink)
                }
                results.append(RecordingSink.canonical(sinks))
            }
            return results
        }
        #expect(read[0].count > 100, "the consortium has persons with signals")
        #expect(read[1] == read[0] && read[2] == read[0])
    }
}
