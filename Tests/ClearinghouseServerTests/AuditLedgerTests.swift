import ClearinghouseCore
import ClearinghouseSQLite
import ClearinghouseServer
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@Suite("Audit ledger")
struct AuditLedgerTests {
    static func entryCount(_ daemon: TestDaemon) throws -> Int {
        try daemon.count("SELECT COUNT(*) FROM ledger")
    }

    static func lastEntry(_ daemon: TestDaemon) throws -> (action: String, partner: String?, details: String) {
        try daemon.query { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT action, partner, details FROM ledger ORDER BY sequence DESC LIMIT 1"))
            return (row[0], row[1], row[2])
        }
    }

    @Test("each state change writes exactly one entry in its transaction; a failed or replayed batch writes none")
    func oneEntryPerChange() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            #expect(try Self.entryCount(daemon) == 2, "two partners added")
            #expect(try Self.lastEntry(daemon).action == "partner.added")

            let consents = Lines.body([Lines.consent("ann"), Lines.consent("ben")])
            let first = try await client.upload("/v1/consents", consents, as: acme, headers: [HTTPField.Name("Idempotency-Key")!: "c-1"])
            #expect(try Self.entryCount(daemon) == 3)
            let consentEntry = try Self.lastEntry(daemon)
            #expect(consentEntry.action == "batch.consents" && consentEntry.partner == "acme")
            #expect(consentEntry.details.contains(#""created":2"#) && consentEntry.details.contains("body_sha256"))
            #expect(first.int("ledger_sequence") == 3)

            // A replay and a conflicting reuse of the key change nothing, so they write nothing.
            _ = try await client.upload("/v1/consents", consents, as: acme, headers: [HTTPField.Name("Idempotency-Key")!: "c-1"])
            let conflict = try await client.upload(
                "/v1/consents", Lines.body([Lines.consent("cat")]), as: acme, headers: [HTTPField.Name("Idempotency-Key")!: "c-1"])
            #expect(conflict.status == .unprocessableContent)
            let invalid = try await client.upload("/v1/signals", "{\"token\":\"nope\"}\n", as: acme)
            #expect(invalid.status == .badRequest)
            #expect(try Self.entryCount(daemon) == 3)

            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("ann", "tents"), Lines.signal("ben", "tents")]), as: acme)
            #expect(try Self.entryCount(daemon) == 4 && Self.lastEntry(daemon).action == "batch.signals")

            let revocation = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("ann")]), as: acme)
            #expect(try Self.entryCount(daemon) == 5)
            let revocationEntry = try Self.lastEntry(daemon)
            #expect(revocationEntry.action == "batch.revocations" && revocationEntry.details.contains(#""signals_erased":1"#))

            // The receipt names the entry, and the head a partner can read is that entry.
            #expect(revocation.int("ledger_sequence") == 5)
            let head = try await client.execute(uri: "/v1/ledger/head", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(head.int("sequence") == 5)
            #expect(head.json["hash"] as? String == revocation.json["ledger_hash"] as? String)
            #expect(try await client.execute(uri: "/v1/ledger/head", method: .get).status == .unauthorized)
            // The partner checks on its own that its revocation's entry is in the tree.
            let proof = try await client.execute(
                uri: "/v1/ledger/proof?sequence=5", method: .get, headers: [.authorization: "Bearer \(acme)"])
            let path = try #require(proof.json["audit_path"] as? [String]).compactMap(Hex.decode)
            let root = try #require(Hex.decode(head.json["root"] as? String ?? ""))
            let entryHash = try #require(Hex.decode(revocation.json["ledger_hash"] as? String ?? ""))
            #expect(head.int("tree_size") == 5 && proof.json["root"] as? String == head.json["root"] as? String)
            #expect(MerkleTree.verifyInclusion(leaf: entryHash, index: 4, treeSize: 5, proof: path, root: root))
            let earlier = try await client.execute(
                uri: "/v1/ledger/proof?sequence=3&tree_size=4", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(earlier.int("tree_size") == 4)
            let badProof = try await client.execute(
                uri: "/v1/ledger/proof?sequence=9", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(badProof.status == .notFound && badProof.errorCode == "entry_not_in_tree")
            let tooBig = try await client.execute(
                uri: "/v1/ledger/proof?sequence=1&tree_size=99", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(tooBig.status == .notFound && tooBig.errorCode == "tree_size_not_found")
            let malformed = try await client.execute(
                uri: "/v1/ledger/proof?sequence=x", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(malformed.status == .badRequest && malformed.errorCode == "bad_sequence")

            try await daemon.runtime.store.rotateKey(partner: PartnerID("globex")!, key: APIKey.generate(), at: WallClock.nowMilliseconds())
            try await daemon.runtime.store.disablePartner(PartnerID("globex")!, at: WallClock.nowMilliseconds())
            let release = ReleaseService(
                store: daemon.runtime.store, settings: PrivacySettings(k: 10, differentialPrivacy: false), budget: PrivacyBudget())
            _ = try await release.releaseNow(trigger: "test", at: WallClock.nowMilliseconds())
            #expect(try Self.entryCount(daemon) == 8)
            #expect(try Self.lastEntry(daemon).action == "release.computed")

            // No entry names a person: no token and no person key anywhere in the ledger.
            let ledger = try daemon.query { db in try String.fetchAll(db, sql: "SELECT details FROM ledger").joined() }
            #expect(!ledger.contains(Lines.token("ann")) && !ledger.contains(Lines.token("ben")))
            let keys = try daemon.query { db in try Data.fetchAll(db, sql: "SELECT key FROM person").map { Hex.encode($0) } }
            #expect(keys.allSatisfy { !ledger.lowercased().contains($0) })

            let verification = try await daemon.runtime.store.verifyLedger(receipts: [])
            #expect(verification.finding == nil && verification.verified == 8)

            // audit log filters by action, partner and time.
            func logged(_ arguments: [String]) async throws -> [[String: Any]] {
                let result = try await DaemonProcess.admin(["audit", "log", "--data-dir", daemon.directory, "--format", "json"] + arguments)
                #expect(result.status == 0)
                return (try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]) ?? []
            }
            let revocations = try await logged(["--action", "batch.revocations"])
            #expect(revocations.count == 1 && revocations[0]["partner"] as? String == "acme" && revocations[0]["sequence"] as? Int == 5)
            #expect(try await logged(["--partner", "globex"]).map { $0["action"] as? String ?? "" }
                == ["partner.added", "partner.key_rotated", "partner.disabled"])
            #expect(try await logged(["--since", "2099-01-01T00:00:00Z"]).isEmpty)
            #expect(try await logged([]).count == 8)

            // The head follows later entries (it is kept incrementally) and its root is the full tree's.
            let later = try await client.upload("/v1/consents", Lines.body([Lines.consent("later")]), as: acme)
            let newHead = try await client.execute(uri: "/v1/ledger/head", method: .get, headers: [.authorization: "Bearer \(acme)"])
            #expect(newHead.int("sequence") == 9 && newHead.json["hash"] as? String == later.json["ledger_hash"] as? String)
            let hashes = try await daemon.runtime.store.ledgerHashes()
            #expect(hashes.count == 9 && newHead.json["root"] as? String == Hex.encode(MerkleTree.root(hashes)))
        }
    }

    enum Tampering: String, CaseIterable, Sendable {
        case edited, deleted, inserted, reordered, truncated, appended
    }

    @Test("audit verify catches tampering done directly in the SQLite file", arguments: Tampering.allCases)
    func catchesTampering(_ tampering: Tampering) async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            _ = try await client.upload("/v1/consents", Lines.body([Lines.consent("ann"), Lines.consent("ben")]), as: acme)
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("ann", "tents")]), as: acme)
            let revoked = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("ben")]), as: acme)
            _ = try await client.upload("/v1/signals", Lines.body([Lines.signal("ann", "stoves")]), as: acme)
            // Entries: 1-2 partners, 3 consents, 4 signals, 5 revocation, 6 signals.
            let receipt = try #require(LedgerReceipt("5:\(revoked.json["ledger_hash"] as? String ?? "")"))
            #expect(try await daemon.runtime.store.verifyLedger(receipts: [receipt]).finding == nil)

            let queue = try DatabaseQueue(path: daemon.settings.databasePath)
            try await queue.write { db in
                switch tampering {
                case .edited:
                    try db.execute(sql: #"UPDATE ledger SET details = replace(details, '"signals_erased":0', '"signals_erased":7') WHERE sequence = 5"#)
                case .deleted:
                    try db.execute(sql: "DELETE FROM ledger WHERE sequence = 4")
                case .inserted:
                    // Shift entries 4... up by one and put a forged entry at 4.
                    try db.execute(sql: "UPDATE ledger SET sequence = sequence + 100 WHERE sequence >= 4")
                    try db.execute(sql: "UPDATE ledger SET sequence = sequence - 99 WHERE sequence >= 104")
                    try db.execute(
                        sql: "INSERT INTO ledger SELECT 4, at, action, partner, details, previous_hash, hash FROM ledger WHERE sequence = 3")
                case .reordered:
                    try db.execute(sql: "UPDATE ledger SET sequence = -4 WHERE sequence = 4")
                    try db.execute(sql: "UPDATE ledger SET sequence = 4 WHERE sequence = 5")
                    try db.execute(sql: "UPDATE ledger SET sequence = 5 WHERE sequence = -4")
                case .truncated:
                    try db.execute(sql: "DELETE FROM ledger WHERE sequence = 6")
                case .appended:
                    try db.execute(
                        sql: "INSERT INTO ledger SELECT 7, at, action, partner, details, hash, hash FROM ledger WHERE sequence = 6")
                }
            }
            let result = try await daemon.runtime.store.verifyLedger(receipts: [receipt])
            let finding = try #require(result.finding, "\(tampering) went unnoticed")
            switch tampering {
            case .edited: #expect(finding == .alteredContent(sequence: 5))
            case .deleted: #expect(finding == .sequenceGap(expected: 4, found: 5))
            case .inserted: #expect(finding == .alteredContent(sequence: 4) || finding == .brokenLink(sequence: 4))
            case .reordered: #expect(finding == .brokenLink(sequence: 4))
            case .truncated: #expect(finding == .truncated(headSequence: 6, lastSequence: 5))
            case .appended: #expect(finding == .beyondHead(headSequence: 6, lastSequence: 7) || finding == .alteredContent(sequence: 7))
            }
            #expect(result.verified < 7)
            #expect("\(finding)".contains("entry"))

            // The operator's command says FAIL, names the entry, and exits non-zero.
            let cli = try await DaemonProcess.admin(["audit", "verify", "--data-dir", daemon.directory])
            #expect(cli.status == 1)
            #expect(cli.output.contains("FAIL: ") && cli.output.contains("\(finding)"))
        }
    }

    @Test("a partner's receipt no longer matching a rewritten ledger is caught")
    func receiptCatchesRewrite() async throws {
        try await TestDaemon.run { client, daemon in
            let acme = daemon.keys["acme"]!
            let revoked = try await client.upload("/v1/revocations", Lines.body([Lines.revocation("ann")]), as: acme)
            let receipt = try #require(LedgerReceipt("3:\(revoked.json["ledger_hash"] as? String ?? "")"))
            // Rewrite entry 3 and re-chain it consistently, as an insider with file access could.
            let store = daemon.runtime.store
            let entries = try await store.ledgerEntries(LedgerFilter())
            let forged = LedgerEntry(
                sequence: 3, at: entries[2].at, action: entries[2].action, partner: entries[2].partner,
                details: entries[2].details.replacingOccurrences(of: #""not_found":1"#, with: #""not_found":0"#),
                previousHash: entries[1].hash)
            let queue = try DatabaseQueue(path: daemon.settings.databasePath)
            try await queue.write { db in
                try db.execute(
                    sql: "UPDATE ledger SET details = ?, hash = ? WHERE sequence = 3", arguments: [forged.details, Data(forged.hash)])
                try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'ledger_head'", arguments: ["3:\(Hex.encode(forged.hash))"])
            }
            #expect(try await store.verifyLedger(receipts: []).finding == nil, "a consistent rewrite passes the chain alone")
            #expect(try await store.verifyLedger(receipts: [receipt]).finding == .receiptMismatch(sequence: 3))
            let cli = try await DaemonProcess.admin([
                "audit", "verify", "--data-dir", daemon.directory, "--receipt", "3:\(revoked.json["ledger_hash"] as? String ?? "")",
            ])
            #expect(cli.status == 1 && cli.output.contains("receipt"))
        }
    }
}
