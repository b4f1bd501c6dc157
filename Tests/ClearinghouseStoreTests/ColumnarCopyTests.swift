@testable import ClearinghouseCore
@testable import ClearinghouseSQLite
import Foundation
import GRDB
import Testing

/// The columnar engine (`release.engine = columnar`): its copy of the signals counts exactly
/// what the database scan and a direct count of the raw rows count, stays exact while it is
/// patched by this process's commits, is rebuilt after another process's, lets erased signals
/// go before the erasing call returns, and never counts a mix of two database states.
@Suite("Columnar copy of the signals")
struct ColumnarCopyTests {
    static let settings = PrivacySettings(k: 5, bounds: .init(itemsPerPartner: 2, partnersPerPerson: 2), differentialPrivacy: false)
    /// Read two days on, so consents given with a one-day expiry have lapsed.
    static let at = Batches.now + 2 * Batches.day

    /// A random consortium with weights whose sums depend on the order they are added in
    /// (0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1 in doubles), so the engines agree only if each
    /// sums a person's weights in the same order.
    static func fill(
        _ store: SQLiteStore, seed: UInt64, persons: Range<Int> = 0..<200, partners: [String: AuthenticatedPartner]? = nil
    ) async throws -> [String: AuthenticatedPartner] {
        var random = SeededGenerator(seed: seed)
        var partners = partners ?? [:]
        if partners.isEmpty { partners = try await store.addPartners(["acme", "globex", "initech", "umbrella"]) }
        let weights = [0.1, 0.2, 0.3, 0.7, 1.1, 2.5]
        for (id, partner) in partners.sorted(by: { $0.key < $1.key }) {
            let holders = persons.map { "person-\($0)" }.filter { _ in Int.random(in: 0..<10, using: &random) < 7 }
            let expiring = holders.filter { _ in Int.random(in: 0..<10, using: &random) == 0 }
            try await store.store(try Batches.consents(holders.filter { !expiring.contains($0) }), as: partner)
            try await store.store(try Batches.consents(expiring, expires: Batches.now + Batches.day), as: partner)
            var lines: [String] = []
            for person in holders {
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    let category = "\(id)-c\(Int.random(in: 0..<5, using: &random))"
                    let weight = weights[Int.random(in: 0..<weights.count, using: &random)]
                    lines.append(
                        #"{"token":"\#(Batches.token(person))","kid":"k1","category":"\#(category)","weight":\#(weight),"observed_at":"2026-11-01T00:00:00Z"}"#
                    )
                }
            }
            try await store.store(try Batches.decode(.signals, lines.shuffled(using: &random)), as: partner)
        }
        return partners
    }

    static func service(_ store: SQLiteStore, _ engine: ReleaseEngine) -> ReleaseService {
        ReleaseService(store: store, settings: settings, budget: PrivacyBudget(), workers: 2, engine: engine)
    }

    /// The scan, the columnar copy and the direct count, which must all be equal.
    static func allThree(_ store: SQLiteStore, path: String) async throws -> (scan: [String], columnar: [String], direct: [String]) {
        let scan = try await service(store, .memory).exactCounts(at: at).canonicalLines
        let columnar = try await service(store, .columnar).exactCounts(at: at).canonicalLines
        let direct = try DirectCount.lines(path: path, bounds: settings.bounds, at: at)
        return (scan, columnar, direct)
    }

    @Test("oracle: the database scan, the columnar copy (built, then patched) and a direct count of the raw rows agree", arguments: [UInt64(11), 12, 13])
    func oracle(seed: UInt64) async throws {
        print("columnar oracle seed \(seed)")
        let database = try await StoreBackend.sqlite.makeDatabase()
        let store = try #require(try await database.open().store as? SQLiteStore)
        let path = try #require(database.sqlitePath)
        let partners = try await Self.fill(store, seed: seed)

        let built = try await Self.allThree(store, path: path)
        #expect(built.scan.contains { $0.hasPrefix("pair ") } && built.scan.contains { $0.hasPrefix("own_pair ") })
        #expect(built.columnar == built.scan, "built copy differs: \(Set(built.columnar).symmetricDifference(built.scan).sorted().prefix(6))")
        #expect(built.direct == built.scan, "direct count differs: \(Set(built.direct).symmetricDifference(built.scan).sorted().prefix(6))")
        let firstMark = try #require(store.signalCopy.status()).mark

        // This process's commits patch the copy: more signals for old and new persons, a
        // revocation at two partners, a later consent that replaces earlier ones (keeps signals).
        _ = try await Self.fill(store, seed: seed &+ 100, persons: 150..<260, partners: partners)
        try await store.store(try Batches.revocations((0..<12).map { "person-\($0 * 3)" }), as: partners["globex"]!)
        try await store.store(try Batches.revocations((0..<8).map { "person-\($0 * 5 + 1)" }), as: partners["acme"]!)
        try await store.store(try Batches.consents((20..<30).map { "person-\($0)" }, granted: Batches.now - Batches.day), as: partners["acme"]!)
        let patched = try await Self.allThree(store, path: path)
        // Batches of hundreds of lines, stored 64 rows a statement: every row in a span of its partner.
        #expect(try await store.writer.read { try SignalSpans.uncovered($0).mapValues(\.count) }.isEmpty)
        let held = try #require(store.signalCopy.status())
        #expect(held.mark > firstMark)
        #expect(store.signalCopy.inspect { $0?.addedCount ?? 0 } > 0, "the copy was rebuilt, not patched")
        #expect(patched.scan != built.scan)
        #expect(patched.columnar == patched.scan, "patched copy differs: \(Set(patched.columnar).symmetricDifference(patched.scan).sorted().prefix(6))")
        #expect(patched.direct == patched.scan, "direct count differs: \(Set(patched.direct).symmetricDifference(patched.scan).sorted().prefix(6))")

        // Another process's commit (a second store on the same file): the copy never hears of
        // it, so the marks differ and the copy is built again, and is exact again.
        let other = try #require(try await database.open().store as? SQLiteStore)
        try await other.store(try Batches.revocations((40..<60).map { "person-\($0)" }), as: partners["initech"]!)
        let rebuilt = try await Self.allThree(store, path: path)
        #expect(store.signalCopy.inspect { $0?.addedCount } == 0, "the copy was not rebuilt after another process's commit")
        #expect(rebuilt.scan != patched.scan)
        #expect(rebuilt.columnar == rebuilt.scan)
        #expect(rebuilt.direct == rebuilt.scan)
    }

    @Test("erasure: a revocation overwrites the revoked signals in the copy before it returns, or drops the copy after another process's commit; a purge drops it")
    func erasure() async throws {
        let database = try await StoreBackend.sqlite.makeDatabase()
        let store = try #require(try await database.open().store as? SQLiteStore)
        let partners = try await Self.fill(store, seed: 5)
        _ = try await Self.service(store, .columnar).exactCounts(at: Self.at)
        let globex = try await store.writer.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM partner WHERE slug = 'globex'")! }
        func globexPersons() async throws -> Set<Int64> {
            Set(try await store.writer.read { db in
                try Int64.fetchAll(db, sql: "SELECT DISTINCT person_id FROM signal WHERE partner_id = ?", arguments: [globex])
            })
        }
        /// (live signals, erased slots) the copy holds for one person at globex.
        func held(_ person: Int64) -> (live: Int, erased: Int) {
            store.signalCopy.inspect { copy in
                guard let copy, let index = copy.baseIndex(of: person) else { return (0, 0) }
                var live = 0, erased = 0
                for entry in Int(copy.start[index])..<Int(copy.start[index + 1]) {
                    if copy.category[entry] < 0 {
                        #expect(copy.weight[entry] == 0, "an erased slot still holds its weight")
                        erased += 1
                    } else if copy.partner(ofBaseCategory: copy.category[entry]) == globex {
                        live += 1
                    }
                }
                return (live, erased)
            }
        }
        // Patched-in signals too: globex stores more after the copy was built.
        let patched = try await store.store(
            try Batches.signals((0..<40).map { (person: "person-\($0)", category: "globex-c1") }, weight: 0.7), as: partners["globex"]!)
        #expect(patched.accepted > 0)
        #expect(store.signalCopy.inspect { $0?.addedCount ?? 0 } == patched.accepted, "the copy was patched")
        let before = try await globexPersons()
        try await store.store(try Batches.revocations((0..<40).map { "person-\($0)" }), as: partners["globex"]!)
        let revoked = before.subtracting(try await globexPersons())
        #expect(!revoked.isEmpty)
        // Right after the call returned, with no release in between: nothing of theirs is left.
        for person in revoked {
            let left = held(person)
            #expect(left.live == 0, "person \(person) keeps \(left.live) globex signals in the copy")
            #expect(left.erased > 0)
            let patchedLeft = store.signalCopy.inspect { copy in copy?.added(of: person).filter { copy?.partner(ofCategory: $0.category) == globex }.count }
            #expect(patchedLeft == 0, "person \(person) keeps patched-in globex signals in the copy")
        }
        // The patched-in signals are overwritten in the log itself, not only unlinked.
        let zeroed = store.signalCopy.inspect { copy in copy?.addedLog.filter { $0.category < 0 }.allSatisfy { $0.weight == 0 } }
        let erasedInLog = store.signalCopy.inspect { copy in copy?.addedLog.filter { $0.category < 0 }.count ?? 0 }
        #expect(zeroed == true)
        #expect(erasedInLog == patched.accepted, "every patched-in signal of the revoked persons was overwritten")
        let kept = try #require(before.subtracting(revoked).first)
        #expect(held(kept).live > 0)

        // Another process commits (a second store on the file), then this one revokes: the copy
        // cannot apply the revocation after a sequence it never heard of, so it is dropped
        // before the revocation returns, not left holding what was erased.
        let other = try #require(try await database.open().store as? SQLiteStore)
        try await other.store(try Batches.revocations(["person-150"]), as: partners["acme"]!)
        #expect(store.signalCopy.status() != nil)
        try await store.store(try Batches.revocations((40..<60).map { "person-\($0)" }), as: partners["globex"]!)
        #expect(store.signalCopy.status() == nil, "a revocation after another process's commit must drop the copy")

        _ = try await Self.service(store, .columnar).exactCounts(at: Self.at)
        #expect(store.signalCopy.status() != nil)
        _ = try await store.purge(at: Self.at, signalsObservedBefore: Batches.now)
        #expect(store.signalCopy.status() == nil, "a purge by age must drop the copy")
        let path = try #require(database.sqlitePath)
        let after = try await Self.allThree(store, path: path)
        #expect(after.columnar == after.scan && after.direct == after.scan)
    }

    @Test("snapshot: counts taken while batches commit, by the copy and by the one-read scan, each equal one database state, never a mix")
    func snapshot() async throws {
        print("columnar snapshot seed 21")
        let live = try await StoreBackend.sqlite.makeDatabase()
        let twin = try await StoreBackend.sqlite.makeDatabase()
        let store = try #require(try await live.open().store as? SQLiteStore)
        let replay = try #require(try await twin.open().store as? SQLiteStore)
        let partners = try await Self.fill(store, seed: 21)
        let twinPartners = try await Self.fill(replay, seed: 21)
        let batches = try (0..<8).map { round in
            try Batches.signals((0..<40).map { (person: "person-\(round * 20 + $0)", category: "acme-c\(round % 5)") }, weight: 0.3)
        }
        // Every state the live store passes through, from the twin fed the same batches.
        var states: Set<[String]> = [try await Self.service(replay, .memory).exactCounts(at: Self.at).canonicalLines]
        for batch in batches {
            try await replay.store(batch, as: twinPartners["acme"]!)
            states.insert(try await Self.service(replay, .memory).exactCounts(at: Self.at).canonicalLines)
        }
        #expect(states.count == batches.count + 1)
        _ = try await Self.service(store, .columnar).exactCounts(at: Self.at)
        let counted = try await withThrowingTaskGroup(of: [[String]].self) { group in
            group.addTask {
                for batch in batches { try await store.store(batch, as: partners["acme"]!) }
                return []
            }
            group.addTask {
                var seen: [[String]] = []
                for round in 0..<12 {
                    let engine: ReleaseEngine = round % 2 == 0 ? .columnar : .memory
                    seen.append(try await Self.service(store, engine).exactCounts(at: Self.at).canonicalLines)
                }
                return seen
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(counted.count == 12)
        for lines in counted { #expect(states.contains(lines), "a count matched no database state") }
        #expect(try await Self.service(store, .columnar).exactCounts(at: Self.at).canonicalLines
            == Self.service(replay, .memory).exactCounts(at: Self.at).canonicalLines)
    }
}

/// The release's exact counts computed directly from the raw rows with plain collections:
/// no `PersonScratch`, no accumulator, no copy; the rule as DESIGN.md states it.
enum DirectCount {
    static func lines(path: String, bounds: ContributionBounds, at now: Int64) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        struct Row { var person: Int64; var partner: Int64; var category: Int64; var weight: Double }
        let (partners, categories, rows, expired) = try queue.read { db in
            (
                try GRDB.Row.fetchAll(db, sql: "SELECT id, slug FROM partner ORDER BY id").map { (id: $0[0] as Int64, slug: $0[1] as String) },
                try GRDB.Row.fetchAll(db, sql: "SELECT id, partner_id, name FROM category").map {
                    (id: $0[0] as Int64, partner: $0[1] as Int64, name: $0[2] as String)
                },
                try GRDB.Row.fetchAll(db, sql: "SELECT person_id, partner_id, category_id, weight FROM signal").map {
                    Row(person: $0[0], partner: $0[1], category: $0[2], weight: $0[3])
                },
                Set(try GRDB.Row.fetchAll(db, sql: "SELECT partner_id, person_id FROM consent WHERE expires_at <= ?", arguments: [now]).map {
                    "\($0[0] as Int64)/\($0[1] as Int64)"
                })
            )
        }
        let slug = Dictionary(uniqueKeysWithValues: partners.map { ($0.id, $0.slug) })
        let name = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, "\(slug[$0.partner]!):\($0.name)") })
        var counts: [String: Int] = [:]
        var signals = 0
        var persons = 0
        for (person, personRows) in Dictionary(grouping: rows, by: \.person) {
            let live = personRows.filter { !expired.contains("\($0.partner)/\($0.person)") }
            guard !live.isEmpty else { continue }
            signals += live.count
            persons += 1
            // Each item's weights summed in the database's index order: ascending weight.
            var itemWeight: [Int64: Double] = [:]
            for (category, group) in Dictionary(grouping: live, by: \.category) {
                itemWeight[category] = group.map(\.weight).sorted().reduce(0, +)
            }
            let byPartner = Dictionary(grouping: itemWeight.keys, by: { category in live.first { $0.category == category }!.partner })
            /// A partner's top items: heavier first, then lower category id (the item order).
            func top(_ items: [Int64]) -> [Int64] {
                Array(items.sorted { itemWeight[$0]! != itemWeight[$1]! ? itemWeight[$0]! > itemWeight[$1]! : $0 < $1 }.prefix(bounds.itemsPerPartner))
            }
            for (partner, items) in byPartner {
                counts["own_persons \(slug[partner]!)", default: 0] += 1
                let own = top(items)
                for item in own { counts["own_item \(name[item]!)", default: 0] += 1 }
                for (i, x) in own.enumerated() {
                    for z in own[(i + 1)...] { counts["own_pair \([name[x]!, name[z]!].sorted())", default: 0] += 1 }
                }
            }
            // A partner's total sums its items' weights in item order, as the engine does.
            let total = byPartner.mapValues { $0.sorted().map { itemWeight[$0]! }.reduce(0, +) }
            let keptPartners = byPartner.keys.sorted { total[$0]! != total[$1]! ? total[$0]! > total[$1]! : $0 < $1 }
                .prefix(bounds.partnersPerPerson)
            guard keptPartners.count >= 2 else { continue }
            counts["several", default: 0] += 1
            let kept = keptPartners.flatMap { partner in top(byPartner[partner]!).map { (partner: partner, item: $0) } }
            let ordered = keptPartners.sorted()
            for (i, a) in ordered.enumerated() {
                for b in ordered[(i + 1)...] { counts["overlap \(slug[a]!) \(slug[b]!)", default: 0] += 1 }
            }
            for x in kept {
                for b in keptPartners where b != x.partner { counts["item_within \(name[x.item]!) \(slug[b]!)", default: 0] += 1 }
                for y in kept where y.partner != x.partner && name[x.item]! < name[y.item]! {
                    counts["pair \([name[x.item]!, name[y.item]!].sorted())", default: 0] += 1
                }
            }
        }
        var lines = ["persons \(persons)", "several \(counts["several"] ?? 0)", "signals \(signals)"]
        for partner in partners where counts["own_persons \(partner.slug)"] == nil { lines.append("own_persons \(partner.slug) 0") }
        for (key, value) in counts where key != "several" { lines.append("\(key) \(value)") }
        return lines.sorted()
    }
}
