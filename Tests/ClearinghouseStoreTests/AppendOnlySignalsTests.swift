@testable import ClearinghouseCore
@testable import ClearinghouseSQLite
import Foundation
import GRDB
import Testing

/// SQLite's signal table is an append-only log (schema v11): no index beside the rowid. What the
/// person index did before is done another way, and each way has a guarantee to keep:
/// - consents are looked up before the writer is taken, and used only if no change to the
///   partner's consents committed since (a signal is still stored only under live consent);
/// - erasure reads the partner's spans, which stay exact when rowids are given again;
/// - a database of an earlier version gets spans for the signals it holds.
@Suite("Append-only signals on SQLite")
struct AppendOnlySignalsTests {
    /// Stored signals of one partner's consent of one person, counted on the raw table.
    static func stored(_ store: SQLiteStore, _ partner: AuthenticatedPartner, _ person: String) async throws -> Int {
        try await store.writer.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM person WHERE key = ?", arguments: [Data(Batches.personKey(person))])
            else { return 0 }
            return try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM signal WHERE partner_id = ? AND person_id = ?", arguments: [partner.rowID, id]) ?? 0
        }
    }

    /// Runs `body` with a new SQLite store, dropped afterwards.
    static func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { store, _ in try await body(try #require(store as? SQLiteStore)) }
    }

    @Test("a lookup made before the writer holds unless the partner's consents changed since: its own revocation or grant, or a purge")
    func lookupIsCheckedAtCommit() async throws {
        try await Self.withStore { store in
        let partners = try await store.addPartners(["acme", "globex"])
        let (acme, globex) = (partners["acme"]!, partners["globex"]!)
        try await store.store(try Batches.consents(["p1", "p2"]), as: acme)
        try await store.store(try Batches.consents(["p1"]), as: globex)
        let batch = try Batches.signals([(person: "p1", category: "shoes"), (person: "p2", category: "shoes"), (person: "p3", category: "shoes")])

        // Commits that leave acme's consents alone: another partner's signals and revocation.
        var lookup = try #require(try await store.lookUpConsents(batch, partner: acme, idempotencyKey: nil, at: Batches.now))
        #expect(lookup.persons.map { $0 > 0 } == [true, true, false])
        try await store.store(try Batches.signals([(person: "p1", category: "hats")]), as: globex)
        try await store.store(try Batches.revocations(["p1"]), as: globex)
        let snapshot = lookup
        #expect(try await store.writer.read { try snapshot.isCurrent($0, partner: "acme") })
        var receipt = try await store.ingest(batch, partner: acme, idempotencyKey: nil, at: Batches.now, lookedUp: lookup).receipt
        #expect(receipt.accepted == 2 && receipt.droppedNoConsent == 1)

        // acme revokes p2 after the lookup: looked up again, p2's line is dropped, nothing of p2 stored.
        lookup = try #require(try await store.lookUpConsents(batch, partner: acme, idempotencyKey: nil, at: Batches.now))
        try await store.store(try Batches.revocations(["p2"]), as: acme)
        receipt = try await store.ingest(batch, partner: acme, idempotencyKey: nil, at: Batches.now, lookedUp: lookup).receipt
        #expect(receipt.accepted == 1 && receipt.droppedNoConsent == 2)
        #expect(try await Self.stored(store, acme, "p2") == 0)

        // acme grants p3 after the lookup: looked up again, p3's line is stored.
        lookup = try #require(try await store.lookUpConsents(batch, partner: acme, idempotencyKey: nil, at: Batches.now))
        #expect(lookup.persons[2] == 0)
        try await store.store(try Batches.consents(["p3"]), as: acme)
        receipt = try await store.ingest(batch, partner: acme, idempotencyKey: nil, at: Batches.now, lookedUp: lookup).receipt
        #expect(receipt.accepted == 2 && receipt.droppedNoConsent == 1)
        #expect(try await Self.stored(store, acme, "p3") == 1)

        // A purge may expire anyone's consent: looked up again.
        lookup = try #require(try await store.lookUpConsents(batch, partner: acme, idempotencyKey: nil, at: Batches.now))
        let purged = try await store.purge(at: Batches.now, signalsObservedBefore: Batches.now)
        #expect(purged.signalsPastRetention > 0)
        let afterPurge = lookup
        #expect(try await !store.writer.read { try afterPurge.isCurrent($0, partner: "acme") })
        }
    }

    @Test("the lookup finds exactly the persons with live consent, the same by seeks and by walks, in chunks of any size")
    func seeksAndWalksAgree() async throws {
        try await Self.withStore { store in
            let partners = try await store.addPartners(["acme", "globex"])
            let (acme, globex) = (partners["acme"]!, partners["globex"]!)
            let live = (0..<40).map { "p\($0)" }
            try await store.store(try Batches.consents(live + (40..<50).map { "p\($0)" }), as: acme)
            try await store.store(try Batches.consents((40..<45).map { "p\($0)" }, granted: Batches.now - Batches.day, expires: Batches.now), as: acme)
            try await store.store(try Batches.revocations((45..<50).map { "p\($0)" }), as: acme)
            try await store.store(try Batches.consents((50..<60).map { "p\($0)" }), as: globex)
            // Persons with live consent, with expired consent, revoked, another partner's, unknown;
            // most named several times, in a shuffled order.
            var random = SeededGenerator(seed: 31)
            print("lookup seed 31")
            let names = (0..<500).map { _ in "p\(Int.random(in: 0..<70, using: &random))" }
            let batch = try Batches.signals(names.map { (person: $0, category: "shoes") })
            let expected = names.map { live.contains($0) }
            // Seeks, walks, each in large and tiny chunks, and the partner's directory.
            for (walkRatio, chunkLines, directories) in [
                (Int64(0), 1 << 18, nil), (1 << 40, 1 << 18, nil), (0, 7, nil), (1 << 40, 7, nil), (0, 1 << 18, ConsentDirectories()),
            ] {
                let lookup = try await store.writer.read { db in
                    try ConsentLookup.resolve(
                        db, batch, partner: acme, at: Batches.now, directories: directories, walkRatio: walkRatio, chunkLines: chunkLines)
                }
                if let directories { #expect(directories.partners == [acme.rowID], "the lookup used a directory") }
                #expect(lookup.persons.map { $0 > 0 } == expected, "walk ratio \(walkRatio), chunks of \(chunkLines), directory \(directories != nil)")
                let ids = try await store.writer.read { db in
                    try names.map { try Int64.fetchOne(db, sql: "SELECT id FROM person WHERE key = ?", arguments: [Data(Batches.personKey($0))]) }
                }
                for (line, person) in lookup.persons.enumerated() where person > 0 { #expect(Int64(person) == ids[line]) }
            }
        }
    }

    @Test("a partner's directory of consents answers its next batches; its consent and revocation batches drop it, as does another process's revocation; expiries bound it")
    func consentDirectory() async throws {
        try await TestDatabase.with(.sqlite) { opened, database in
            let store = try #require(opened as? SQLiteStore)
            let partners = try await store.addPartners(["acme", "globex"])
            let (acme, globex) = (partners["acme"]!, partners["globex"]!)
            try await store.store(try Batches.consents(["p1", "p2", "p6"]), as: acme)
            try await store.store(try Batches.consents(["p3"], granted: Batches.now - Batches.day, expires: Batches.now + Batches.day), as: acme)
            // p5's consent ends within the hour: the directory leaves it to the database.
            try await store.store(try Batches.consents(["p5"], granted: Batches.now - Batches.day, expires: Batches.now + 3_600_000), as: acme)
            try await store.store(try Batches.consents(["p1"]), as: globex)
            let batch = try Batches.signals(["p1", "p2", "p3", "p4", "p5", "p6"].map { (person: $0, category: "shoes") })
            func directory(at now: Int64 = Batches.now) async throws -> ConsentDirectories.Directory? {
                try await store.writer.read { db in
                    try store.consentDirectories.directory(db, partner: acme, at: now, mark: try ReleaseRead.ledgerMark(db), mayBuild: false)
                }
            }
            var receipt = try await store.store(batch, as: acme)
            #expect(receipt.accepted == 5)
            #expect(store.consentDirectories.partners == [acme.rowID], "built by the first batch")
            // Another partner's commits leave acme's directory in use.
            try await store.store(try Batches.revocations(["p1"]), as: globex)
            let built = try #require(try await directory(), "globex's revocation changes nothing of acme's")
            // Past p5's expiry the directory still answers; p5's line goes to the database.
            receipt = try await store.store(batch, as: acme, at: Batches.now + 2 * 3_600_000)
            #expect(receipt.accepted == 4, "p5's consent expired")
            // A rebuild at that time would start from p5's expiry.
            #expect(try await directory(at: Batches.now + 2 * 3_600_000)?.validFrom == built.validFrom, "not rebuilt for p5")
            // acme's consent batch drops it before it answers.
            try await store.store(try Batches.consents(["p7"]), as: acme)
            #expect(store.consentDirectories.partners.isEmpty)
            receipt = try await store.store(batch, as: acme)
            #expect(receipt.accepted == 5 && store.consentDirectories.partners == [acme.rowID])
            // Another process revokes p2 (a second store on the file; this one hears nothing): the
            // ledger tells, and p2's line is dropped.
            let other = try #require(try await database.open().store as? SQLiteStore)
            try await other.store(try Batches.revocations(["p2"]), as: acme)
            #expect(try await directory() == nil, "the directory no longer holds")
            #expect(store.consentDirectories.partners.isEmpty, "and it is dropped, not kept beside its successor")
            receipt = try await store.store(batch, as: acme)
            #expect(receipt.accepted == 4 && receipt.droppedNoConsent == 2)
            // acme revokes p6 here: the directory goes before the revocation answers.
            try await store.store(try Batches.revocations(["p6"]), as: acme)
            #expect(store.consentDirectories.partners.isEmpty)
            receipt = try await store.store(batch, as: acme)
            #expect(receipt.accepted == 3)
            // Past p3's expiry the directory built before it must not answer.
            receipt = try await store.store(batch, as: acme, at: Batches.now + 2 * Batches.day)
            #expect(receipt.accepted == 1, "p3's and p5's consents expired")
            // A batch timed before the last expiry the directory saw does not use it either.
            receipt = try await store.store(batch, as: acme, at: Batches.now)
            #expect(receipt.accepted == 3, "p3 was live at that time")
        }
    }

    @Test("a directory built from a read older than a revocation, or than a purge, is not kept after it")
    func directoryBuiltBeforeRevocationIsNotKept() async throws {
        try await Self.withStore { store in
            let partners = try await store.addPartners(["acme"])
            let acme = partners["acme"]!
            let pool = try #require(store.writer as? DatabasePool)
            try await store.store(try Batches.consents(["p1", "p2"]), as: acme)
            let p2 = Batches.personKey("p2").withUnsafeBytes { ConsentLookup.KeyedID(key: $0, id: 0).key }
            /// Opens a read (a lookup's, as it begins), lets `change` commit and drop the
            /// directories, then builds a directory from that older read; the read is closed
            /// afterwards so that the change's WAL checkpoint can finish.
            func buildFromReadBefore(_ change: @escaping @Sendable () async throws -> Int64?) async throws -> ConsentDirectories.Directory? {
                var before: DatabaseSnapshot? = try pool.makeSnapshot()
                let changing = Task { try await change() }
                let deadline = ContinuousClock.now + .seconds(30)
                // The change has committed and dropped the directories once the drop mark passes
                // the old read's.
                let oldMark = try await before!.read { try ReleaseRead.ledgerMark($0) }
                while store.consentDirectories.droppedThrough(partner: acme.rowID) <= oldMark {
                    guard ContinuousClock.now < deadline else {
                        Issue.record("the change did not drop the directories within 30 s")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
                let stale = try await before!.read { db in
                    try store.consentDirectories.directory(db, partner: acme, at: Batches.now, mark: try ReleaseRead.ledgerMark(db))
                }
                before = nil
                #expect(try await changing.value != nil)
                return stale
            }
            let stale = try await buildFromReadBefore {
                try await store.store(try Batches.revocations(["p2"]), as: acme).ledgerSequence
            }
            #expect(stale.map { $0.match(p2) != .none } == true, "the old read still holds p2's consent")
            #expect(store.consentDirectories.partners.isEmpty, "the stale directory was not kept")
            // A fresh lookup keeps its own, without p2.
            var receipt = try await store.store(try Batches.signals([(person: "p1", category: "shoes"), (person: "p2", category: "shoes")]), as: acme)
            #expect(receipt.accepted == 1 && store.consentDirectories.partners == [acme.rowID])
            // A purge drops every directory, and one built from a read older than the purge is not kept.
            let afterPurge = try await buildFromReadBefore {
                try await store.purge(at: Batches.now, signalsObservedBefore: Batches.now).ledgerSequence
            }
            #expect(afterPurge != nil && store.consentDirectories.partners.isEmpty, "built from the old read, not kept")
            receipt = try await store.store(try Batches.signals([(person: "p1", category: "shoes")]), as: acme)
            #expect(receipt.accepted == 1 && store.consentDirectories.partners == [acme.rowID])
        }
    }

    @Test("directories stay within their budget: the least recently used goes for a build, and a partner that does not fit goes without")
    func directoryBudget() async throws {
        try await Self.withStore { store in
            let partners = try await store.addPartners(["acme", "globex", "initech", "hooli"])
            for (partner, count) in [("acme", 40), ("globex", 40), ("initech", 40), ("hooli", 200)] {
                try await store.store(try Batches.consents((1...count).map { "\(partner)-\($0)" }), as: partners[partner]!)
            }
            let forty = ConsentDirectories.Directory.bytes(for: 40)
            // Room for two directories of 40 persons, not for a third beside them.
            let directories = ConsentDirectories(budgetBytes: 2 * forty + forty / 2)
            func lookUp(_ partner: String) async throws -> ConsentDirectories.Directory? {
                try await store.writer.read { db in
                    try directories.directory(db, partner: partners[partner]!, at: Batches.now, mark: try ReleaseRead.ledgerMark(db))
                }
            }
            func held() -> [String] {
                directories.partners.map { id in partners.first { $0.value.rowID == id }!.key }
            }
            #expect(try await lookUp("acme")?.entries.count == 40)
            #expect(try await lookUp("globex")?.entries.count == 40)
            #expect(held() == ["acme", "globex"])
            #expect(try await lookUp("acme") != nil)
            #expect(held() == ["globex", "acme"], "acme's is now the most recently used")
            #expect(try await lookUp("hooli") == nil, "200 consents do not fit the budget")
            #expect(held() == ["globex", "acme"], "nothing evicted for a build not made")
            #expect(try await lookUp("initech")?.entries.count == 40)
            #expect(held() == ["acme", "initech"], "the least recently used went")
        }
    }

    @Test("a key prefix that two consented persons share in a directory is looked up in full")
    func directorySharedPrefixes() async throws {
        try await Self.withStore { store in
            let partners = try await store.addPartners(["acme", "globex"])
            let (acme, globex) = (partners["acme"]!, partners["globex"]!)
            try await store.store(try Batches.consents(["p1", "p2"]), as: acme)
            try await store.store(try Batches.consents(["p3"]), as: globex)
            let batch = try Batches.signals(["p1", "p2", "p3", "p4"].map { (person: $0, category: "shoes") })
            let lookup = try await store.writer.read { db in
                let id = { (name: String) in try Int64.fetchOne(db, sql: "SELECT id FROM person WHERE key = ?", arguments: [Data(Batches.personKey(name))]) }
                let key = { (name: String) in Batches.personKey(name).withUnsafeBytes { ConsentLookup.KeyedID(key: $0, id: 0).key } }
                let (p1, p2) = (UInt32(try #require(try id("p1"))), UInt32(try #require(try id("p2"))))
                // Two entries share p2's prefix, the wrong one first: the build's sort marks both,
                // and the line must not take either.
                let directory = ConsentDirectories.Directory(
                    partner: acme.rowID, mark: 0, validFrom: .min, validUntil: .max,
                    sorting: [.init(key: key("p2"), person: p1), .init(key: key("p1"), person: p1), .init(key: key("p2"), person: p2)])
                #expect(directory.entries.map(\.person).filter { $0 == 0 }.count == 2)
                var chunk: [ConsentLookup.KeyedID] = []
                var line = -1
                try batch.forEachSignal { signal in
                    line += 1
                    chunk.append(ConsentLookup.KeyedID(key: signal.personKey, id: line))
                }
                var persons = [UInt32](repeating: 0, count: 4)
                try ConsentLookup.resolve(
                    &chunk, through: directory, seeker: try ConsentLookup.Seeker(db, partnerID: acme.rowID, now: Batches.now, walkRatio: 0),
                    into: &persons)
                return (persons, [p1, p2])
            }
            #expect(lookup.0 == [lookup.1[0], lookup.1[1], 0, 0], "p1 from the directory, p2 looked up in full, p3 and p4 without consent")
            _ = globex
        }
    }

    @Test("erasure through spans when rowids are given again: each partner's signals go, no other partner's")
    func spansSurviveReusedRowIDs() async throws {
        try await Self.withStore { store in
        let partners = try await store.addPartners(["acme", "globex"])
        let (acme, globex) = (partners["acme"]!, partners["globex"]!)
        try await store.store(try Batches.consents(["p", "q"]), as: acme)
        try await store.store(try Batches.consents(["q"]), as: globex)
        try await store.store(try Batches.signals((0..<5).map { _ in (person: "p", category: "shoes") }), as: acme)
        try await store.store(try Batches.signals((0..<5).map { _ in (person: "q", category: "shoes") }), as: acme)
        let maxBefore = try await store.writer.read { try Int64.fetchOne($0, sql: "SELECT MAX(id) FROM signal") ?? 0 }
        // q's five rows were the last: erasing them frees their rowids, which globex's rows then take.
        try await store.store(try Batches.revocations(["q"]), as: acme)
        try await store.store(try Batches.signals((0..<3).map { _ in (person: "q", category: "hats") }), as: globex)
        let reused = try await store.writer.read {
            try Int64.fetchOne($0, sql: "SELECT MIN(id) FROM signal WHERE partner_id = ?", arguments: [globex.rowID]) ?? 0
        }
        #expect(reused <= maxBefore, "globex's rows took rowids inside acme's old span")
        // acme's spans now cover globex's rows: erasing acme's p leaves them alone.
        try await store.store(try Batches.revocations(["p"]), as: acme)
        #expect(try await Self.stored(store, acme, "p") == 0)
        #expect(try await Self.stored(store, globex, "q") == 3)
        // acme grants q again and stores; globex revokes q: only globex's rows go.
        try await store.store(try Batches.consents(["q"], granted: Batches.now - Batches.day), as: acme)
        try await store.store(try Batches.signals([(person: "q", category: "shoes")]), as: acme)
        let revoked = try await store.store(try Batches.revocations(["q"]), as: globex)
        #expect(revoked.signalsErased == 3)
        #expect(try await Self.stored(store, globex, "q") == 0)
        // acme's spans overlap now (a rowid given again started one inside another): counted once.
        let history = try await store.consentHistory(partner: "acme", personKey: Batches.personKey("q"), at: Batches.now)
        #expect(history.signals == 1)
        #expect(try await Self.stored(store, acme, "q") == 1)
        // Every signal of a partner lies in one of its spans.
        let outside = try await store.writer.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM signal s WHERE NOT EXISTS (
                      SELECT 1 FROM signal_span p WHERE p.partner_id = s.partner_id AND s.id BETWEEN p.first_id AND p.last_id)
                    """) ?? -1
        }
        #expect(outside == 0)
        }
    }

    @Test("signals without spans (an older version's, or planted): the next open covers those after the last span, purge the others")
    func uncoveredSignalsGetSpans() async throws {
        try await TestDatabase.with(.sqlite) { opened, database in
            let store = try #require(opened as? SQLiteStore)
            let partners = try await store.addPartners(["acme", "globex"])
            let (acme, globex) = (partners["acme"]!, partners["globex"]!)
            try await store.store(try Batches.consents(["p"]), as: acme)
            try await store.store(try Batches.consents(["p"]), as: globex)
            try await store.store(try Batches.signals((0..<3).map { _ in (person: "p", category: "shoes") }), as: acme)
            try await store.store(try Batches.signals((0..<3).map { _ in (person: "p", category: "hats") }), as: globex)
            try await store.store(try Batches.signals((0..<3).map { _ in (person: "p", category: "shoes") }), as: acme)
            // Planted as a version without spans would write them: one after the last row, one
            // in a rowid inside globex's span.
            try await store.writer.write { db in
                let globexRow = try #require(try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM signal WHERE partner_id = ?", arguments: [globex.rowID]))
                try db.execute(sql: "DELETE FROM signal WHERE id = ?", arguments: [globexRow])
                for id in [globexRow, 1000] {
                    try db.execute(
                        sql: """
                            INSERT INTO signal (id, partner_id, person_id, category_id, weight, observed_at, batch_id)
                            SELECT ?, partner_id, person_id, category_id, weight, observed_at, batch_id FROM signal WHERE partner_id = ? LIMIT 1
                            """, arguments: [id, acme.rowID])
                }
            }
            #expect(try await store.writer.read { try SignalSpans.uncovered($0).mapValues(\.count) } == [acme.rowID: 2])
            let reopened = try #require(try await database.open().store as? SQLiteStore)
            #expect(try await reopened.writer.read { try SignalSpans.uncovered($0).mapValues(\.count) } == [acme.rowID: 1], "the tail is covered at open")
            _ = try await reopened.purge(at: Batches.now, signalsObservedBefore: 0)
            #expect(try await reopened.writer.read { try SignalSpans.uncovered($0).mapValues(\.count) }.isEmpty, "purge covers the rest")
            let revoked = try await reopened.store(try Batches.revocations(["p"]), as: acme)
            #expect(revoked.signalsErased == 8)
            #expect(try await Self.stored(reopened, acme, "p") == 0)
            #expect(try await Self.stored(reopened, globex, "p") == 2)
        }
    }

    @Test("a database of schema v10 migrates: its signals get one span per partner and erasure finds them")
    func migrationGivesSpans() async throws {
        let directory = NSTemporaryDirectory() + "v10-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/clearinghouse.sqlite"
        // Version 10, with two partners' signals interleaved in rowid order.
        let old = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(old, upTo: "v10-outcomes-pooled-acceptance")
        try await old.write { db in
            for (id, slug) in [(1, "acme"), (2, "globex")] {
                try db.execute(
                    sql: "INSERT INTO partner (id, slug, name, status, created_at) VALUES (?, ?, ?, 'active', 0)", arguments: [id, slug, slug])
                try db.execute(sql: "INSERT INTO category (id, partner_id, name) VALUES (?, ?, 'shoes')", arguments: [id, id])
            }
            for (person, name) in ["p", "q"].enumerated() {
                try db.execute(sql: "INSERT INTO person (id, key) VALUES (?, ?)", arguments: [person + 1, Data(Batches.personKey(name))])
                for partner in [1, 2] {
                    try db.execute(
                        sql: "INSERT INTO consent (partner_id, person_id, purposes, granted_at, batch_id) VALUES (?, ?, 1, 0, 0)",
                        arguments: [partner, person + 1])
                }
            }
            for row in 0..<12 {
                try db.execute(
                    sql: "INSERT INTO signal (partner_id, person_id, category_id, weight, observed_at, batch_id) VALUES (?, ?, ?, 1, ?, 0)",
                    arguments: [row % 2 + 1, row % 4 / 2 + 1, row % 2 + 1, Batches.now - Batches.day])
            }
        }
        try old.close()

        let store = try SQLiteStore.open(path: path, pseudonymizer: TestDatabase.deriver.auditPseudonymizer, logger: TestDatabase.logger)
        let (spans, indexes) = try await store.writer.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT partner_id, first_id, last_id FROM signal_span ORDER BY partner_id").map {
                    [$0[0] as Int64, $0[1], $0[2]]
                },
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'signal'")
            )
        }
        #expect(spans == [[1, 1, 11], [2, 2, 12]])
        #expect(indexes.isEmpty, "no index on signal beside its rowid")
        let acme = AuthenticatedPartner(rowID: 1, id: "acme")
        let receipt = try await store.store(try Batches.revocations(["p"]), as: acme)
        #expect(receipt.signalsErased == 3)
        #expect(try await Self.stored(store, acme, "p") == 0)
        #expect(try await Self.stored(store, AuthenticatedPartner(rowID: 2, id: "globex"), "p") == 3)
        #expect(try await Self.stored(store, acme, "q") == 3)
    }
}
